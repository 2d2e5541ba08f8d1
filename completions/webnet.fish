# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_webnet_global_optspecs
    string join \n db= key-file= output= customer= allow-private-targets proxy= h/help V/version
end

function __fish_webnet_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_webnet_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_webnet_using_subcommand
    set -l cmd (__fish_webnet_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c webnet -n "__fish_webnet_needs_command" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_needs_command" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_needs_command" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_needs_command" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_needs_command" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_needs_command" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_needs_command" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_needs_command" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "customers" -d 'Create and list customers (tenants)'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "webhooks" -d 'Create, list, change and delete webhooks'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "emit" -d 'Record events and deliver them now: one from arguments, or JSON / NDJSON on stdin'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "drain" -d 'Send every delivery that is due (retries, queued events); for cron or a systemd timer'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "deliveries" -d 'Delivery history: list, show, retry'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "stats" -d 'Per webhook: deliveries, success rate, attempts and latency over a period, with sparklines'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "metrics" -d 'Prometheus metrics of the database as text (deliveries by webhook and status, attempts, what is due, failing webhooks, attempt durations), for node_exporter\'s textfile collector or a quick look; a pinned --customer sees only its own'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "listen" -d 'A local receiver for developing yours: prints each event as it arrives, checks signatures'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "serve" -d 'The REST API and web UI over this database, with the delivery worker in the same process'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "schedule" -d 'Run `drain` on a schedule: write the crontab line or the systemd units'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "key" -d 'The secret key that seals webhook secrets and credential headers: rotate it, or reset a database whose key is lost (operator only)'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "targets" -d 'Non-public destinations (private networks, loopback) webhooks may reach, stored in the database for every process; operator-only'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "tokens" -d 'API tokens for `webnet serve`: create one (shown once), list, revoke; operator-only'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "db" -d 'The database itself: create or upgrade its schema, or check that it can be reached'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c webnet -n "__fish_webnet_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -f -a "create" -d 'Create a customer; prints its id'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -f -a "list" -d 'List customers'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and not __fish_seen_subcommand_from create list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a customer; prints its id'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from help" -f -a "list" -d 'List customers'
complete -c webnet -n "__fish_webnet_using_subcommand customers; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "create" -d 'Create a webhook; prints its id. On a terminal, asks for whatever required is missing'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "list" -d 'List webhooks'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "show" -d 'Show one webhook'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "update" -d 'Change a webhook; only what is given changes'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "enable" -d 'Enable a webhook'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "disable" -d 'Disable a webhook: it gets nothing new until enabled again'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "test" -d 'Send a signed `webhook.test` event now; prints status and time, exit 1 unless 2xx'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "rotate-secret" -d 'Replace the signing secret; during the grace period both old and new sign'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "delete" -d 'Delete a webhook (its delivery history is kept). Asks first on a terminal; from a script (no terminal) it deletes at once, without --yes'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and not __fish_seen_subcommand_from create list show update enable disable test rotate-secret delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l name -d 'Friendly name, unique per customer (1-100 characters)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l url -d 'Destination URL (http or https)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l event -d 'Event type to subscribe to; repeat, or separate with commas; `job.*` for a family, `*` for everything' -r -f -a "job.created\t'Job is created'
job.started\t'Job execution begins'
job.completed\t'Job finishes successfully'
job.failed\t'Job fails'
device.created\t'Device added to inventory'
device.updated\t'Device attributes changed'
device.deleted\t'Device removed from inventory'
device.status_changed\t'Reachability status changed'
config.backup_created\t'Configuration backup taken'
config.changed\t'Configuration drift detected'
config.deployed\t'Configuration deployed to device'
compliance.check_completed\t'Compliance check finishes'
compliance.violation_detected\t'Compliance violation found'
job.*\t'Every job event'
device.*\t'Every device event'
config.*\t'Every configuration event'
compliance.*\t'Every compliance event'
*\t'Every event'"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l timeout -d 'Whole-request timeout, 1s to 2m [default: 10s]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l max-retries -d 'Retries after the first attempt, 0 to 20 [default: 3]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l retry-backoff -d 'Wait before the first retry, doubled for each next one, 1s to 24h [default: 60s]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l payload-format -d 'Body format: the spec\'s JSON, or a message for a chat or alerting destination [default: detected from the URL (see the list), json otherwise]' -r -f -a "json\t'the spec\'s JSON payload (anything not recognised below)'
slack\t'Slack message: text + blocks (hooks.slack.com/services/…)'
teams\t'Teams Adaptive Card in a Workflows message (…logic.azure.com…/workflows/…, …api.powerplatform.com…/workflows/…, *.webhook.office.com/webhookb2/…)'
discord\t'Discord message: content + embeds (discord.com/api/webhooks/…)'
google-chat\t'Google Chat message (chat.googleapis.com/v1/spaces/…/messages)'
mattermost\t'Mattermost message: text + attachments (never detected: force it)'
pagerduty\t'PagerDuty Events API v2 event, needs --routing-key (events.pagerduty.com/v2/enqueue)'"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l routing-key -d 'PagerDuty integration key (Events API v2), required by the pagerduty format; stored sealed, never shown (visible in the process list: prefer --routing-key-stdin)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l auto-disable-after -d 'Disable the webhook after failing this long without one success, 0s for never, up to 30 days [default: 3days]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l header -d 'Custom header sent with every delivery, \'Name: value\'; repeat for more (update: adds or replaces that header)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l secret -d 'Signing secret (visible to other local users in the process list: prefer --secret-stdin)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l disabled -d 'Create (or set) the webhook disabled'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l no-verify-ssl -d 'Accept any TLS certificate (self-signed, expired); for testing only'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l routing-key-stdin -d 'Read the PagerDuty routing key from standard input (first line)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l secret-stdin -d 'Read the signing secret from standard input (first line)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l generate-secret -d 'Make a Standard Webhooks secret (whsec_ + base64 of 32 random bytes) and print it, this once only: give it to your receiver now'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l event -d 'Only webhooks that receive this event type (subscribed directly or by a wildcard); a wildcard (job.*) lists those that receive any event it covers' -r -f -a "job.created\t'Job is created'
job.started\t'Job execution begins'
job.completed\t'Job finishes successfully'
job.failed\t'Job fails'
device.created\t'Device added to inventory'
device.updated\t'Device attributes changed'
device.deleted\t'Device removed from inventory'
device.status_changed\t'Reachability status changed'
config.backup_created\t'Configuration backup taken'
config.changed\t'Configuration drift detected'
config.deployed\t'Configuration deployed to device'
compliance.check_completed\t'Compliance check finishes'
compliance.violation_detected\t'Compliance violation found'
job.*\t'Every job event'
device.*\t'Every device event'
config.*\t'Every configuration event'
compliance.*\t'Every compliance event'
*\t'Every event'"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l enabled -d 'Only enabled webhooks'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l disabled -d 'Only disabled webhooks'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l name -d 'Friendly name, unique per customer (1-100 characters)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l url -d 'Destination URL (http or https)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l event -d 'Event type to subscribe to; repeat, or separate with commas; `job.*` for a family, `*` for everything' -r -f -a "job.created\t'Job is created'
job.started\t'Job execution begins'
job.completed\t'Job finishes successfully'
job.failed\t'Job fails'
device.created\t'Device added to inventory'
device.updated\t'Device attributes changed'
device.deleted\t'Device removed from inventory'
device.status_changed\t'Reachability status changed'
config.backup_created\t'Configuration backup taken'
config.changed\t'Configuration drift detected'
config.deployed\t'Configuration deployed to device'
compliance.check_completed\t'Compliance check finishes'
compliance.violation_detected\t'Compliance violation found'
job.*\t'Every job event'
device.*\t'Every device event'
config.*\t'Every configuration event'
compliance.*\t'Every compliance event'
*\t'Every event'"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l timeout -d 'Whole-request timeout, 1s to 2m [default: 10s]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l max-retries -d 'Retries after the first attempt, 0 to 20 [default: 3]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l retry-backoff -d 'Wait before the first retry, doubled for each next one, 1s to 24h [default: 60s]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l payload-format -d 'Body format: the spec\'s JSON, or a message for a chat or alerting destination [default: detected from the URL (see the list), json otherwise]' -r -f -a "json\t'the spec\'s JSON payload (anything not recognised below)'
slack\t'Slack message: text + blocks (hooks.slack.com/services/…)'
teams\t'Teams Adaptive Card in a Workflows message (…logic.azure.com…/workflows/…, …api.powerplatform.com…/workflows/…, *.webhook.office.com/webhookb2/…)'
discord\t'Discord message: content + embeds (discord.com/api/webhooks/…)'
google-chat\t'Google Chat message (chat.googleapis.com/v1/spaces/…/messages)'
mattermost\t'Mattermost message: text + attachments (never detected: force it)'
pagerduty\t'PagerDuty Events API v2 event, needs --routing-key (events.pagerduty.com/v2/enqueue)'"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l routing-key -d 'PagerDuty integration key (Events API v2), required by the pagerduty format; stored sealed, never shown (visible in the process list: prefer --routing-key-stdin)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l auto-disable-after -d 'Disable the webhook after failing this long without one success, 0s for never, up to 30 days [default: 3days]' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l header -d 'Custom header sent with every delivery, \'Name: value\'; repeat for more (update: adds or replaces that header)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l secret -d 'Signing secret (visible to other local users in the process list: prefer --secret-stdin)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l disabled -d 'Create (or set) the webhook disabled'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l no-verify-ssl -d 'Accept any TLS certificate (self-signed, expired); for testing only'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l routing-key-stdin -d 'Read the PagerDuty routing key from standard input (first line)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l secret-stdin -d 'Read the signing secret from standard input (first line)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l enabled -d 'Enable the webhook'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l verify-ssl -d 'Verify TLS certificates again'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l clear-secret -d 'Remove the signing secret'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l clear-headers -d 'Remove every custom header (with --header: replace them all)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l grace -d 'How long the old secret keeps signing beside the new one (0s: switch at once)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l secret -d 'The new secret (visible in the process list: prefer --secret-stdin)' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l generate-secret -d 'Make the new secret: a Standard Webhooks secret (whsec_ + base64 of 32 random bytes), printed this once only'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l secret-stdin -d 'Read the new secret from standard input (first line); preferred'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from rotate-secret" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation (only a terminal is asked)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a webhook; prints its id. On a terminal, asks for whatever required is missing'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "list" -d 'List webhooks'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one webhook'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "update" -d 'Change a webhook; only what is given changes'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Enable a webhook'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Disable a webhook: it gets nothing new until enabled again'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a signed `webhook.test` event now; prints status and time, exit 1 unless 2xx'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "rotate-secret" -d 'Replace the signing secret; during the grace period both old and new sign'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a webhook (its delivery history is kept). Asks first on a terminal; from a script (no terminal) it deletes at once, without --yes'
complete -c webnet -n "__fish_webnet_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l event-id -d 'The event\'s id in webnet (argument form)' -r
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l actor-id -d 'Id of the user who caused the event (argument form)' -r
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l actor-username -d 'Username of the user who caused the event (argument form)' -r
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l data -d 'The event\'s object as JSON: the `job`, `device`, `config` or `compliance` of the payload [default: {}]' -r
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l concurrency -d 'Deliveries sent in parallel' -r
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l queue -d 'Only record the deliveries; `webnet drain` sends them'
complete -c webnet -n "__fish_webnet_using_subcommand emit" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand emit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c webnet -n "__fish_webnet_using_subcommand emit" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l max-time -d 'Stop claiming new deliveries after this long [default: 50s, or none with --watch]' -r
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l limit -d 'Send at most this many deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l concurrency -d 'Deliveries sent in parallel' -r
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l summary-every -d 'How often to log a summary line on stderr' -r
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l retain -d 'Also delete history older than this (e.g. 90d): as `deliveries prune --older-than`, a few seconds per run [default: keep everything]' -r
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l metrics-file -d 'After the run (with --watch, also every 15 s) write Prometheus metrics (as `webnet metrics` prints them) to this file, replacing it atomically: for node_exporter\'s textfile collector. Its directory must exist' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l watch -d 'Keep running: sleep until the next delivery is due (for a systemd service)'
complete -c webnet -n "__fish_webnet_using_subcommand drain" -s q -l quiet -d 'No start line, no periodic summary line and no progress bar (failed attempts are still logged)'
complete -c webnet -n "__fish_webnet_using_subcommand drain" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand drain" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand drain" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -f -a "list" -d 'List deliveries, newest first'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -f -a "show" -d 'Show one delivery: its payload and every attempt'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -f -a "retry" -d 'Make one attempt now: on one failed or retrying delivery (exit 1 unless it succeeded), or with --failed on many (exit 0, with counts, like `drain`)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -f -a "prune" -d 'Delete old history: deliveries that ended (success or failed) before a cutoff, with their attempts and the events nothing refers to any more; never pending or retrying ones'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and not __fish_seen_subcommand_from list show retry prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l webhook -d 'Only deliveries to this webhook (a deleted one\'s history too)' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l status -d 'Only deliveries with this status' -r -f -a "pending\t''
retrying\t''
success\t''
failed\t''"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l event-type -d 'Only deliveries of this event type (from the catalog, or webhook.test), or of a family (job.*)' -r -f -a "job.created\t'Job is created'
job.started\t'Job execution begins'
job.completed\t'Job finishes successfully'
job.failed\t'Job fails'
device.created\t'Device added to inventory'
device.updated\t'Device attributes changed'
device.deleted\t'Device removed from inventory'
device.status_changed\t'Reachability status changed'
config.backup_created\t'Configuration backup taken'
config.changed\t'Configuration drift detected'
config.deployed\t'Configuration deployed to device'
compliance.check_completed\t'Compliance check finishes'
compliance.violation_detected\t'Compliance violation found'
webhook.test\t'Test event sent by `webnet webhooks test`'
job.*\t'Every job event'
device.*\t'Every device event'
config.*\t'Every configuration event'
compliance.*\t'Every compliance event'"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l since -d 'Only deliveries created this recently (e.g. 1h, 2days)' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l limit -d 'At most this many' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l webhook -d 'With --failed: only deliveries to this webhook' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l since -d 'With --failed: only deliveries created this recently [default: 24h]' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l concurrency -d 'Deliveries sent in parallel' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l failed -d 'Every failed delivery (narrow with --webhook and --since); exits 0 and reports how many succeeded, are retrying or failed again, as `drain` does: retries failing is what they are for, not an error of the command'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l dry-run -d 'With --failed: only count what would be retried; send nothing'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from retry" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l older-than -d 'Delete deliveries that ended longer ago than this (e.g. 90d, 2weeks)' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l status -d 'Only deliveries that ended with this status' -r -f -a "success\t''
failed\t''"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l dry-run -d 'Only count what would be deleted; delete nothing'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l vacuum -d 'Then rewrite the whole file to its smallest size; other writers wait meanwhile (needed once to shrink a large database made before webnet reclaimed space by itself)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from help" -f -a "list" -d 'List deliveries, newest first'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one delivery: its payload and every attempt'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Make one attempt now: on one failed or retrying delivery (exit 1 unless it succeeded), or with --failed on many (exit 0, with counts, like `drain`)'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete old history: deliveries that ended (success or failed) before a cutoff, with their attempts and the events nothing refers to any more; never pending or retrying ones'
complete -c webnet -n "__fish_webnet_using_subcommand deliveries; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l since -d 'The period, back from now' -r
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l webhook -d 'Only this webhook (a deleted one\'s history too)' -r
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l buckets -d 'Sparkline width (time buckets across the period)' -r
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand stats" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand stats" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand stats" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand metrics" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l port -d 'Port on 127.0.0.1 (0: any free port, printed on stderr)' -r
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l count -d 'Stop after this many events (at least 1)' -r
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l secret -d 'Check X-Webhook-Signature with this secret; a wrong one is answered 401. Visible to other local users in the process list: prefer --secret-stdin, or the environment variable WEBNET_LISTEN_SECRET (used when neither option is given)' -r
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l secret-stdin -d 'Read the secret to check signatures with from standard input (first line)'
complete -c webnet -n "__fish_webnet_using_subcommand listen" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand listen" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand listen" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l listen -d 'The address and port to listen on (port 0 picks a free one)' -r
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l concurrency -d 'Deliveries the worker sends in parallel' -r
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l no-worker -d 'Serve only: leave delivering to `drain` (cron, a timer, or another host)'
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l public-metrics -d 'Serve /metrics without a token (for a Prometheus on a private network)'
complete -c webnet -n "__fish_webnet_using_subcommand serve" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand serve" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand serve" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -f -a "install" -d 'Install `drain` for this database in cron (every minute) or systemd (a timer, or with --watch a service that sends each retry as it falls due)'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l retain -d 'The scheduled drain also deletes history older than this (`drain --retain`, e.g. 90d)' -r
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l metrics-file -d 'The scheduled drain writes Prometheus metrics to this file after each run (`drain --metrics-file`; with --watch every 15 s)' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l cron -d 'Add a line for this database to your crontab'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l systemd -d 'Write systemd user units for this database (~/.config/systemd/user)'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l print -d 'Print the line or units instead of installing them. With WEBNET_SECRET_KEY or a proxy set, the private environment file they read is still written (mode 0600), since what is printed needs it'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l watch -d 'With --systemd: a long-running `drain --watch` service instead of a timer'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install `drain` for this database in cron (every minute) or systemd (a timer, or with --watch a service that sends each retry as it falls due)'
complete -c webnet -n "__fish_webnet_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -f -a "rotate" -d 'Re-seal every secret and credential header under a new key, in one transaction: a new random key file replacing the old one, or a passphrase read from stdin'
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -f -a "reset" -d 'For a database whose key is lost: clear the secrets and credential headers it can no longer open, so that new ones can be stored; prints which webhooks lost what. Asks on a terminal; elsewhere it needs --yes (it cannot be undone and affects every customer)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and not __fish_seen_subcommand_from rotate reset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -l new-passphrase-stdin -d 'Read the new key as a passphrase from standard input (first line; asked twice, hidden, on a terminal) instead of writing a new key file'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -s y -l yes -d 'Do not ask for confirmation (required without a terminal)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from reset" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Re-seal every secret and credential header under a new key, in one transaction: a new random key file replacing the old one, or a passphrase read from stdin'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "reset" -d 'For a database whose key is lost: clear the secrets and credential headers it can no longer open, so that new ones can be stored; prints which webhooks lost what. Asks on a terminal; elsewhere it needs --yes (it cannot be undone and affects every customer)'
complete -c webnet -n "__fish_webnet_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -f -a "allow" -d 'Allow an address range, an address or a host name; allowing it again replaces its note'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -f -a "list" -d 'List the allowed destinations'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -f -a "remove" -d 'Stop allowing a range, address or host name; later sends to it are refused'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and not __fish_seen_subcommand_from allow list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -l note -d 'Why it is allowed (shown by `targets list`)' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from allow" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from help" -f -a "allow" -d 'Allow an address range, an address or a host name; allowing it again replaces its note'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the allowed destinations'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Stop allowing a range, address or host name; later sends to it are refused'
complete -c webnet -n "__fish_webnet_using_subcommand targets; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Create an API token and print it, this once only (only its hash is stored): a customer\'s with the global --customer ID (it sees and changes only that customer), or one for every customer with --admin'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List tokens (never the tokens themselves: their last four characters)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke a token: it never authenticates again (kept in `tokens list --all`)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l name -d 'What the token is for, shown by `tokens list` (1-100 characters)' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l admin -d 'A token for every customer (instead of --customer ID)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l read-only -d 'The token may read but not change anything'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -l all -d 'Revoked tokens too'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an API token and print it, this once only (only its hash is stored): a customer\'s with the global --customer ID (it sees and changes only that customer), or one for every customer with --admin'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "list" -d 'List tokens (never the tokens themselves: their last four characters)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a token: it never authenticates again (kept in `tokens list --all`)'
complete -c webnet -n "__fish_webnet_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -f -a "migrate" -d 'Create webnet\'s tables, or upgrade them to this version, now (other commands do it on first use; run it explicitly where migrations are an operator\'s step)'
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -f -a "check" -d 'Connect, and say which database this is, its schema version and whether the secret key opens its secrets; exit 1 if it cannot be used'
complete -c webnet -n "__fish_webnet_using_subcommand db; and not __fish_seen_subcommand_from migrate check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Create webnet\'s tables, or upgrade them to this version, now (other commands do it on first use; run it explicitly where migrations are an operator\'s step)'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "check" -d 'Connect, and say which database this is, its schema version and whether the secret key opens its secrets; exit 1 if it cannot be used'
complete -c webnet -n "__fish_webnet_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand completions" -l db -d 'SQLite database file, or a PostgreSQL database shared by many hosts (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or ~/.local/share/webnet/webhooks.db]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand completions" -l key-file -d 'The secret key file (64 hex digits, created mode 0600 on the first secret if missing) that seals webhook secrets and credential headers; required on PostgreSQL unless WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]' -r -F
complete -c webnet -n "__fish_webnet_using_subcommand completions" -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''"
complete -c webnet -n "__fish_webnet_using_subcommand completions" -l customer -d 'Pin this command to one customer: it sees and changes only that customer\'s webhooks and deliveries' -r
complete -c webnet -n "__fish_webnet_using_subcommand completions" -l proxy -d 'Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy, http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly. Destinations are still checked before a request reaches the proxy' -r
complete -c webnet -n "__fish_webnet_using_subcommand completions" -l allow-private-targets -d 'Allow every loopback, private, link-local and other non-public destination in this process (for development; `webnet targets allow` stores what a deployment allows)'
complete -c webnet -n "__fish_webnet_using_subcommand completions" -s h -l help -d 'Print help'
complete -c webnet -n "__fish_webnet_using_subcommand completions" -s V -l version -d 'Print version'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "customers" -d 'Create and list customers (tenants)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "webhooks" -d 'Create, list, change and delete webhooks'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "emit" -d 'Record events and deliver them now: one from arguments, or JSON / NDJSON on stdin'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "drain" -d 'Send every delivery that is due (retries, queued events); for cron or a systemd timer'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "deliveries" -d 'Delivery history: list, show, retry'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "stats" -d 'Per webhook: deliveries, success rate, attempts and latency over a period, with sparklines'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "metrics" -d 'Prometheus metrics of the database as text (deliveries by webhook and status, attempts, what is due, failing webhooks, attempt durations), for node_exporter\'s textfile collector or a quick look; a pinned --customer sees only its own'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "listen" -d 'A local receiver for developing yours: prints each event as it arrives, checks signatures'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "serve" -d 'The REST API and web UI over this database, with the delivery worker in the same process'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "schedule" -d 'Run `drain` on a schedule: write the crontab line or the systemd units'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "key" -d 'The secret key that seals webhook secrets and credential headers: rotate it, or reset a database whose key is lost (operator only)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "targets" -d 'Non-public destinations (private networks, loopback) webhooks may reach, stored in the database for every process; operator-only'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "tokens" -d 'API tokens for `webnet serve`: create one (shown once), list, revoke; operator-only'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "db" -d 'The database itself: create or upgrade its schema, or check that it can be reached'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "completions" -d 'Print shell completions'
complete -c webnet -n "__fish_webnet_using_subcommand help; and not __fish_seen_subcommand_from customers webhooks emit drain deliveries stats metrics listen serve schedule key targets tokens db completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from customers" -f -a "create" -d 'Create a customer; prints its id'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from customers" -f -a "list" -d 'List customers'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "create" -d 'Create a webhook; prints its id. On a terminal, asks for whatever required is missing'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "list" -d 'List webhooks'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "show" -d 'Show one webhook'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "update" -d 'Change a webhook; only what is given changes'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "enable" -d 'Enable a webhook'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "disable" -d 'Disable a webhook: it gets nothing new until enabled again'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "test" -d 'Send a signed `webhook.test` event now; prints status and time, exit 1 unless 2xx'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "rotate-secret" -d 'Replace the signing secret; during the grace period both old and new sign'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "delete" -d 'Delete a webhook (its delivery history is kept). Asks first on a terminal; from a script (no terminal) it deletes at once, without --yes'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from deliveries" -f -a "list" -d 'List deliveries, newest first'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from deliveries" -f -a "show" -d 'Show one delivery: its payload and every attempt'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from deliveries" -f -a "retry" -d 'Make one attempt now: on one failed or retrying delivery (exit 1 unless it succeeded), or with --failed on many (exit 0, with counts, like `drain`)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from deliveries" -f -a "prune" -d 'Delete old history: deliveries that ended (success or failed) before a cutoff, with their attempts and the events nothing refers to any more; never pending or retrying ones'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "install" -d 'Install `drain` for this database in cron (every minute) or systemd (a timer, or with --watch a service that sends each retry as it falls due)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "rotate" -d 'Re-seal every secret and credential header under a new key, in one transaction: a new random key file replacing the old one, or a passphrase read from stdin'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "reset" -d 'For a database whose key is lost: clear the secrets and credential headers it can no longer open, so that new ones can be stored; prints which webhooks lost what. Asks on a terminal; elsewhere it needs --yes (it cannot be undone and affects every customer)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from targets" -f -a "allow" -d 'Allow an address range, an address or a host name; allowing it again replaces its note'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from targets" -f -a "list" -d 'List the allowed destinations'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from targets" -f -a "remove" -d 'Stop allowing a range, address or host name; later sends to it are refused'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "create" -d 'Create an API token and print it, this once only (only its hash is stored): a customer\'s with the global --customer ID (it sees and changes only that customer), or one for every customer with --admin'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "list" -d 'List tokens (never the tokens themselves: their last four characters)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "revoke" -d 'Revoke a token: it never authenticates again (kept in `tokens list --all`)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "migrate" -d 'Create webnet\'s tables, or upgrade them to this version, now (other commands do it on first use; run it explicitly where migrations are an operator\'s step)'
complete -c webnet -n "__fish_webnet_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "check" -d 'Connect, and say which database this is, its schema version and whether the secret key opens its secrets; exit 1 if it cannot be used'
