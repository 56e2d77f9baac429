#!/bin/sh
set -eu
export API_TOKEN=kdcanary401Dp7Wn2Lq9Zx4Vr1Hc6Tb3Jk8Gm5Fs0Ya
./release --target production
