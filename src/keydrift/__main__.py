from keydrift.cli.main import entry

entry()
