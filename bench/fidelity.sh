#!/bin/bash
# bench/fidelity.sh: builds issue 23's tree, backs it up and restores it with restic and with Bulwark (this branch's CLI, local engine,
# protect run as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH so a mode-000 file is really unreadable), and prints each row.
# Needs root, restic, setpriv, attr, acl and libcap2-bin tools. BULWARK_BIN picks another build (e.g. main's, for format 2).
set -u
BIN=${BULWARK_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin/bulwark.js}
W=${FIDELITY_DIR:-$(mktemp -d /tmp/bwk-fidelity-XXXXXX)}; rm -rf $W; mkdir -p $W; echo "work dir: $W"; S=$W/source; mkdir $S; cd $S
mkdir links; echo "one inode" > links/first; ln links/first links/second
echo note > note.txt; setfattr -n user.note -v kept note.txt
mkdir bin; printf '#!/bin/sh\n' > bin/server; chmod 755 bin/server; setcap cap_net_bind_service+ep bin/server
echo acl > acl.txt; setfacl -m u:nobody:r acl.txt
mkdir shared; setfacl -d -m u:nobody:rx shared
echo t > trusted.txt; setfattr -n trusted.origin -v lab trusted.txt
mkfifo pipe; mknod null-device c 1 3
truncate -s 100M sparse.img; printf '!' | dd of=sparse.img bs=1 seek=52428800 conv=notrunc status=none
mkdir secret; echo s > secret/unreadable.txt; chmod 000 secret/unreadable.txt
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('$S/listening.sock')"
DROP="setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search --"
check() { # $1 = restored root
  local R=$1
  echo "hardlinks: $(stat -c '%i/%h' $R/links/first $R/links/second 2>&1 | tr '\n' ' ')"
  echo "user.note: $(getfattr --absolute-names --only-values -n user.note $R/note.txt 2>&1)"
  echo "capability: $(getcap $R/bin/server 2>&1)"
  echo "acl: $(getfacl -pc $R/acl.txt 2>/dev/null | grep nobody)"
  echo "default acl: $(getfacl -pc $R/shared 2>/dev/null | grep default:user:nobody)"
  echo "trusted: $(getfattr --absolute-names --only-values -n trusted.origin $R/trusted.txt 2>&1)"
  echo "fifo: $(stat -c %F $R/pipe 2>&1)"
  echo "char device: $(stat -c '%F %t:%T' $R/null-device 2>&1)"
  echo "sparse allocated KiB: $(( $(stat -c %b $R/sparse.img) / 2 )) size $(stat -c %s $R/sparse.img)"
  echo "socket: $(stat -c %F $R/listening.sock 2>&1)"
  echo "unreadable: $(stat -c %F $R/secret/unreadable.txt 2>&1)"
}
echo "== restic $(restic version | head -1)"
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic-repo
restic init -q
$DROP restic backup -q $S 2>&1 | tail -3; echo "restic backup exit: ${PIPESTATUS[0]}"
restic restore -q latest --target $W/restic-out 2>&1 | tail -3
check $W/restic-out$S
echo "== bulwark (this branch)"
H=$W/home; mkdir -m 700 $H; CLI="node $BIN --home $H"
P=$($CLI -o json plan create --name m --provider fs-directory --resource fs.directory=$S | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
$DROP $CLI checkpoint create --plan $P 2>&1 >/dev/null | tail -2
C=$($CLI -o json checkpoint list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
$CLI -o json checkpoint show $C | python3 -c 'import json,sys; e=json.load(sys.stdin)["extra_info"]; print("report:", json.dumps(e.get("resources_not_captured_report")))'
$CLI -o json restore create --checkpoint $C --parameters "{\"fs.directory\": {\"target_path\": \"$W/bulwark-out\"}}" > /dev/null
check $W/bulwark-out
