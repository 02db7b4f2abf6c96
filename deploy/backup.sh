#!/bin/bash
# Nightly backup (cron, deploy/cron/casework): an encrypted archive of the database and the
# attachments (`casework backup`), copied to the backup host, and old local copies removed.
# The archive is sealed with the master key: it is useless without the keyring, which is NEVER
# copied with it (the keyring's offline copy is kept apart, docs/deployment.md "Keys"). The shred
# ledger is copied to its own place, since a restore replays it to erase again what was shredded.
set -euo pipefail
umask 077
BACKUP_DIR=${BACKUP_DIR:-/var/lib/casework/backups}
REMOTE=${CASEWORK_BACKUP_REMOTE:-backup@backup1.internal:/srv/casework}
KEEP_DAYS=${KEEP_DAYS:-7}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BACKUP_DIR"
/opt/casework/deploy/casework-run backup "$BACKUP_DIR/casework-$stamp.tar"
# Off the host: the archive, then the ledger (append-only; every copy keeps all earlier lines).
rsync -a --chmod=F600 "$BACKUP_DIR/casework-$stamp.tar" "$REMOTE/archives/"
rsync -a --chmod=F600 /var/lib/casework/shred-ledger.jsonl "$REMOTE/ledger/shred-ledger.jsonl"
find "$BACKUP_DIR" -name 'casework-*.tar' -mtime +"$KEEP_DAYS" -delete
logger -t casework-backup "backup casework-$stamp.tar written and copied"
