//! The examples every command shows after its `--help` (and in its man page, as EXAMPLES).
//! Each starts with `Examples:`; notes may follow after a blank line. A test checks that every
//! command has one and that every `webnet …` line in them parses.

pub const WEBNET: &str = "Examples:
  webnet customers create acme
  webnet webhooks create --customer 1 --name ops --url https://ops.example.com/hook --event 'job.*'
  webnet emit job.failed --customer 1 --data '{\"id\": 7, \"status\": \"failed\"}'
  webnet deliveries list --status failed
  webnet drain --watch             # as a service; or `webnet schedule install --cron`";

pub const CUSTOMERS: &str = "Examples:
  webnet customers create acme
  webnet customers list";

pub const CUSTOMERS_CREATE: &str = "Examples:
  webnet customers create acme                 # the id on a terminal; JSON in a pipe
  id=$(webnet --output json customers create globex | jq .id)";

pub const CUSTOMERS_LIST: &str = "Examples:
  webnet customers list
  webnet customers list --output json";

pub const WEBHOOKS: &str = "Examples:
  webnet webhooks create --customer 1 --name ops --url https://ops.example.com/hook --event job.failed
  webnet webhooks list --enabled
  webnet webhooks test 1";

pub const WEBHOOKS_CREATE: &str = "Examples:
  webnet webhooks create --customer 1 --name ops --url https://ops.example.com/hook \\
      --event job.failed --event compliance.violation_detected --secret-stdin < secret.txt
  webnet webhooks create --customer 1 --name billing --url https://billing.example.com/in \\
      --event 'job.*' --generate-secret      # prints a whsec_ secret, this once only
  webnet webhooks create --customer 1 --name 'Slack Alerts' \\
      --url https://hooks.slack.com/services/T000/B000/XXXX --event 'job.*' --disabled
  webnet webhooks create --customer 1 --name pagerduty --url https://events.pagerduty.com/v2/enqueue \\
      --event job.failed --event job.completed --routing-key-stdin < routing-key.txt
  webnet webhooks create --customer 1 --name nms --url https://nms.example.com/in --event '*' \\
      --header 'X-Team: netops' --timeout 5s --max-retries 5 --retry-backoff 30s
  webnet webhooks create           # on a terminal: asks for what is missing

Any string can be a secret; one under 16 bytes is taken with a warning. --generate-secret
makes a Standard Webhooks secret (whsec_ + base64 of 32 random bytes) and prints it once:
give it to the receiver then, for webnet never shows a secret again. A secret given that
starts with whsec_ must be one (standard base64 with padding after the prefix).";

pub const WEBHOOKS_LIST: &str = "Examples:
  webnet webhooks list
  webnet webhooks list --disabled                # and why each was disabled
  webnet webhooks list --event job.failed        # subscribed directly or by a wildcard
  webnet webhooks list --event 'device.*'        # receives any device event
  webnet --customer 1 webhooks list --output json";

pub const WEBHOOKS_SHOW: &str = "Examples:
  webnet webhooks show 1
  webnet webhooks show 1 --output json";

pub const WEBHOOKS_UPDATE: &str = "Examples:
  webnet webhooks update 1 --timeout 30s --max-retries 5
  webnet webhooks update 1 --event job.failed,job.completed     # replaces the subscriptions
  webnet webhooks update 1 --header 'Authorization: Bearer abc'  # adds or replaces one header
  webnet webhooks update 1 --secret-stdin < new-secret.txt
  webnet webhooks update 1 --routing-key-stdin < routing-key.txt  # PagerDuty's integration key
  webnet webhooks update 1 --clear-secret --clear-headers";

pub const WEBHOOKS_ENABLE: &str = "Examples:
  webnet webhooks enable 1        # also forgets why it was disabled";

pub const WEBHOOKS_DISABLE: &str = "Examples:
  webnet webhooks disable 1       # due deliveries end failed, \"Webhook is disabled\"";

pub const WEBHOOKS_TEST: &str = "Examples:
  webnet webhooks test 1
  webnet webhooks test 1 --output json && echo reachable";

pub const WEBHOOKS_ROTATE_SECRET: &str = "Examples:
  webnet webhooks rotate-secret 1 --secret-stdin < new-secret.txt
  webnet webhooks rotate-secret 1 --grace 0s --secret-stdin < new-secret.txt   # switch at once
  webnet webhooks rotate-secret 1 --generate-secret    # prints the new whsec_ secret, once

During the grace period, X-Webhook-Signature keeps the old secret's signature and
X-Webhook-Signature-Next carries the new one; webhook-signature lists both. Update the
receiver to accept the new secret, then let the grace period end.";

pub const WEBHOOKS_DELETE: &str = "Examples:
  webnet webhooks delete 1        # asks on a terminal
  webnet webhooks delete 1 --yes  # its delivery history is kept

Only a terminal is asked: from a script (no terminal) it deletes at once, --yes or not.
(`key reset`, which cannot be undone, requires --yes off a terminal instead.)";

pub const EMIT: &str = "Examples:
  webnet emit job.completed --customer 1 --event-id 123 --data '{\"id\": 123, \"status\": \"success\"}'
  webnet emit device.status_changed --customer 1 --data '{\"hostname\": \"core-sw-1\", \"status\": \"unreachable\"}'
  tail -F events.ndjson | webnet emit
  webnet emit --queue < backlog.ndjson   # record only; `webnet drain` sends";

pub const DRAIN: &str = "Examples:
  webnet drain                     # what is due now, then exit (for cron)
  webnet drain --max-time 5m --limit 10000 --concurrency 16
  webnet drain --watch             # keep running (a systemd service); SIGTERM stops it cleanly
  webnet drain --watch --quiet     # failed attempts only, no summary line
  webnet drain --retain 90d        # then delete history that ended 90+ days ago
  webnet drain --metrics-file /var/lib/node_exporter/textfile_collector/webnet.prom
  webnet --proxy http://proxy.corp.lan:3128 drain   # through an egress proxy";

pub const DELIVERIES: &str = "Examples:
  webnet deliveries list --status failed
  webnet deliveries show 40
  webnet deliveries retry --failed --since 24h
  webnet deliveries prune --older-than 90d";

pub const DELIVERIES_LIST: &str = "Examples:
  webnet deliveries list
  webnet deliveries list --webhook 1 --status failed --since 1h --limit 200
  webnet deliveries list --event-type job.failed --output json
  webnet deliveries list --event-type 'compliance.*'   # every compliance event's";

pub const DELIVERIES_SHOW: &str = "Examples:
  webnet deliveries show 40                   # the payload and every attempt
  webnet deliveries show 40 --output json";

pub const DELIVERIES_RETRY: &str = "Examples:
  webnet deliveries retry 40                                 # one attempt now
  webnet deliveries retry --failed --webhook 1 --since 24h   # every failed one, after a fix
  webnet deliveries retry --failed --since 3days --dry-run   # how many; sends nothing

retry ID exits 1 unless the attempt succeeded. retry --failed exits 0 and reports how many
succeeded and how many still fail, as drain does: failing again is what retries are for.";

pub const DELIVERIES_PRUNE: &str = "Examples:
  webnet deliveries prune --older-than 90d                 # what ended 90+ days ago
  webnet deliveries prune --older-than 2weeks --status success --dry-run
  webnet --customer 1 deliveries prune --older-than 30d    # one customer's history only

Works in short batches, so emit and drain running meanwhile wait well under a second.
Never deletes pending or retrying deliveries. See also drain --retain.";

pub const STATS: &str = "Examples:
  webnet stats                             # the last 24 hours, per webhook
  webnet stats --since 7days --webhook 1 --buckets 48";

pub const METRICS: &str = "Examples:
  webnet metrics                           # Prometheus text: every customer's
  webnet --customer 1 metrics              # one customer's only
  webnet metrics | promtool check metrics

For node_exporter's textfile collector, let the scheduled drain write the file:
  webnet drain --metrics-file /var/lib/node_exporter/textfile_collector/webnet.prom";

pub const LISTEN: &str = "Examples:
  webnet targets allow 127.0.0.1/32        # once per database
  webnet listen --port 9000 --secret-stdin <<< 'my-local-test-secret'
  webnet listen --port 0 --count 1 --output json > event.json";

pub const SERVE: &str = "Examples:
  webnet tokens create --name platform --admin     # a token for the API, shown once
  webnet serve                                      # http://127.0.0.1:8080/settings/webhooks/
  webnet serve --listen 0.0.0.0:8080 --concurrency 16
  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/api/v1/webhooks/";

pub const SCHEDULE: &str = "Examples:
  webnet schedule install --cron
  webnet schedule install --systemd --watch";

pub const SCHEDULE_INSTALL: &str = "Examples:
  webnet schedule install --cron                # a crontab line, every minute
  webnet schedule install --cron --print        # only show it
  webnet schedule install --systemd             # a timer, every minute
  webnet schedule install --systemd --watch     # a long-running service
  webnet schedule install --cron --retain 90d   # and keep 90 days of history
  webnet schedule install --cron --metrics-file /var/lib/node_exporter/textfile_collector/webnet.prom

The drain runs as you do: the same database, the same customer when pinned (--customer,
WEBNET_CUSTOMER), the same key source, and --allow-private-targets if given (with a
warning: `webnet targets allow` is the way for a schedule).

Each database has its own schedule: its own crontab line (installing it again changes
nothing; another database adds its own), and its own units and environment file
(webnet-drain.timer and drain.env for the default database, webnet-drain-<name>-<hash>.timer
and drain-<name>-<hash>.env for any other). The files written are listed.";

pub const KEY: &str = "Examples:
  webnet key rotate
  webnet key reset --yes";

pub const KEY_ROTATE: &str = "Examples:
  webnet key rotate                                 # a new key file
  webnet key rotate --new-passphrase-stdin < passphrase.txt

The current key is found as usual: WEBNET_SECRET_KEY, else the key file beside the
database (<database>.key). With --new-passphrase-stdin the key file is removed and from
then on WEBNET_SECRET_KEY must carry the new passphrase (cron and systemd too). A running
`drain --watch` follows a new key file by itself; after a change of passphrase (or to or
from one), restart it with the new WEBNET_SECRET_KEY and run `schedule install` again.";

pub const KEY_RESET: &str = "Examples:
  webnet key reset            # asks on a terminal
  webnet key reset --yes

Refused while the current key still opens the database's secrets (use `key rotate`).
Without --yes it asks on a terminal; elsewhere --yes is required (unlike `webhooks delete`:
this cannot be undone and affects every customer). An old key file is kept as
<database>.key.old; a new one is created with the next secret.";

pub const TARGETS: &str = "Examples:
  webnet targets allow 10.20.0.0/16 --note 'monitoring VLAN'
  webnet targets list
  webnet targets remove 10.20.0.0/16";

pub const TARGETS_ALLOW: &str = "Examples:
  webnet targets allow 10.20.0.0/16 --note 'monitoring VLAN'
  webnet targets allow 127.0.0.1/32 --note 'webnet listen'
  webnet targets allow ::1/128
  webnet targets allow monitor.corp.lan

A range must be a network address (10.20.0.0/16, not 10.20.1.0/16); a bare address is one
address (/32 or /128). A host name matches exactly (case-insensitive, trailing dot ignored)
and is trusted whatever it resolves to, except a cloud metadata address; an IP literal in
a URL is matched only by ranges.";

pub const TARGETS_LIST: &str = "Examples:
  webnet targets list
  webnet targets list --output json";

pub const TARGETS_REMOVE: &str = "Examples:
  webnet targets remove 10.20.0.0/16      # later sends to it are refused";

pub const TOKENS: &str = "Examples:
  webnet tokens create --name 'acme portal' --customer 1    # prints wnt_…, this once only
  webnet tokens create --name ops --admin --read-only
  webnet tokens list
  webnet tokens revoke 2";

pub const TOKENS_CREATE: &str = "Examples:
  webnet tokens create --name 'acme portal' --customer 1    # sees and changes customer 1 only
  webnet tokens create --name grafana --admin --read-only    # reads every customer
  token=$(webnet --output json tokens create --name ci --admin | jq -r .token)

The token is printed once and stored only as a hash: keep it now. Requests to `webnet serve`
carry it as `Authorization: Bearer wnt_…`.";

pub const TOKENS_LIST: &str = "Examples:
  webnet tokens list               # active tokens, newest first: id, name, scope, wnt_…abcd
  webnet tokens list --all         # revoked ones too
  webnet tokens list --output json";

pub const TOKENS_REVOKE: &str = "Examples:
  webnet tokens revoke 2           # refused from now on, by every server process";

pub const COMPLETIONS: &str = "Examples:
  mkdir -p ~/.local/share/bash-completion/completions
  webnet completions bash > ~/.local/share/bash-completion/completions/webnet
  mkdir -p ~/.zfunc && webnet completions zsh > ~/.zfunc/_webnet
  mkdir -p ~/.config/fish/completions && webnet completions fish > ~/.config/fish/completions/webnet.fish";

pub const DB: &str = "Examples:
  webnet --db postgres://webnet@db.internal/webnet db migrate    # create or upgrade the tables
  webnet --db postgres://webnet@db.internal/webnet db check      # reachable? which schema? key?";

pub const DB_MIGRATE: &str = "Examples:
  PGPASSWORD=... webnet --db postgres://webnet@db.internal:5432/webnet db migrate
  webnet --db ./webhooks.db db migrate";

pub const DB_CHECK: &str = "Examples:
  webnet --db 'postgres://webnet@db.internal/webnet?sslmode=require' --key-file /etc/webnet/key db check
  webnet db check --output json";
