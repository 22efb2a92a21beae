import Desks

/// `--help` texts: one per command, shown with exit 0 (or with a usage error, exit 2).
enum Help {
    static let main = """
    usersync: keeps the QA platform's user directory in step with Zendesk and Intercom.

    Usage: usersync [--config PATH] [--data-dir DIR] COMMAND [options]

    Commands:
      serve                         run the webhook receiver, apply workers and scheduler
      reconcile                     run a full reconciliation now
      users list|add|activate|deactivate
                                    see and manage local users
      agents resolve                map a source agent (id or email) to a local user
      status                        per tenant and source: runs, backlog, conflicts, held deactivations
      audit                         the audit trail of user changes
      events list                   webhook events in the inbox
      config check                  validate the config file
      backup --to DIR               consistent copy of every tenant database (safe while serving)
      zendesk|intercom connect|install-webhook
                                    OAuth connection and webhook installation

    Global options:
      --config PATH     config file (default ./usersync.json)
      --data-dir DIR    overrides the config's data_dir
      --help            help for any command

    Exit codes: 0 success, 1 operational failure, 2 usage or config error.
    """

    static let backup = """
    Usage: usersync backup --to DIR [--tenant T | --tenants A,B]

    Writes DIR/tenants/TENANT.sqlite for every tenant (or one) through SQLite's online backup
    API: a consistent copy as of one commit, taken while `serve` keeps writing. The copy is a
    data directory: `usersync users list --data-dir DIR` reads it.
    """

    static let users = """
    Usage:
      usersync users list [--tenant T] [--status pending|active|deactivated] [--json]
      usersync users add [--tenant T] --name N --email E [--username U] [--external-id X] [--json]
      usersync users activate [--tenant T] ID...
      usersync users deactivate [--tenant T] [--reason R] ID...

    Added users are manual and pending. Activating takes a licence seat and fails when none is free.
    An admin's deactivation is never undone by sync.
    """

    static let agents = """
    Usage: usersync agents resolve [--tenant T] [--source zendesk|intercom] (--source-id N | --email E) [--json]

    Resolves a ticket's agent to a local user: the link first, then external_id = source id,
    then the tenant's identifier (email by default). Works with user sync disabled.
    Exit 1 when no local user matches.
    """

    static let status = """
    Usage: usersync status [--tenant T | --tenants A,B] [--json]

    Per tenant: seats, users by status; per source: enabled, auth, last event, last run and its
    counts, inbox backlog, conflicts, held deactivations. Without --tenant, every tenant of this
    instance's shard: --tenants as given to its serve, else the config's shard.tenants.
    """

    static let audit = """
    Usage: usersync audit [--tenant T] [--user ID] [--limit N] [--json]

    Every change to a local user: before, after, cause (event, run or admin) and time.
    """

    static let config = """
    Usage: usersync config check [--config PATH]

    Validates the config file and the secrets enabled sources need. Prints every problem with
    its path; exit 2 when any is found.
    """

    static let events = """
    Usage: usersync events list [--tenant T | --tenants A,B] [--status pending|failed|applied|ignored] [--limit N] [--json]
    """

    static let reconcile = """
    Usage: usersync reconcile [--tenant T | --tenants A,B] [--source zendesk|intercom] [--confirm-deactivations] [--incremental]

    Lists every in-scope user of the source and repairs the directory. Users missing from a
    complete listing are deactivated; a run that fails part way deactivates nobody. More
    deactivations than max_deactivations are held until --confirm-deactivations. Exits 1
    when a run failed or nothing ran (no enabled source among the tenants chosen).
    """

    static let serve = """
    Usage: usersync serve [--config PATH] [--data-dir DIR] [--tenants A,B] [--listen HOST:PORT]

    Runs the HTTP receiver (webhooks, admin API, health, metrics), the apply workers and the
    reconciliation scheduler. SIGHUP reloads the config; SIGTERM drains and exits 0.
    --tenants serves only these tenants of the config (wins over shard.tenants); the others
    answer 404 and get no database in this data directory. --listen overrides the config's
    listen, so instances sharing one config can run side by side on one machine.
    """

    static func desk(_ desk: any Desk) -> String {
        let name = desk.kind.rawValue
        return """
        Usage:
          usersync \(name) connect [--tenant T] [--redirect-url URL] [--code CODE]
          usersync \(name) install-webhook [--tenant T] --url URL [--rotate]

        connect prints the \(desk.title) OAuth authorization URL (state, and PKCE where the desk
        supports it); run it again with --code to complete the exchange (or let `usersync serve`
        receive the callback at /oauth/\(name)/callback). After connecting it records the account
        the token belongs to. install-webhook registers the user-event webhook and stores its
        signing secret, for desks whose API can do that; run again, it keeps the same webhook
        and secret, and with --rotate gives it a new secret (the old one keeps verifying for
        webhook_secret_overlap).
        """
    }
}
