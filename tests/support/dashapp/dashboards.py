from dashboards_live import Chart, Dashboard, Section, Stat, Table, Text


class Ops(Dashboard):
    title = "Operations"
    channel = "ops"
    queue = Stat(title="Jobs waiting", warn=100, critical=1000)
    throughput = Chart(title="Jobs per minute", window=120, unit="/min", series=["done", "failed"], width=2)
    slowest = Table(title="Slowest jobs", columns=["job", "seconds"], max_rows=10)
    notes = Text(title="Notes")
    backlog = Stat(title="Backlog", poll_rate=0.5)

    layout = [Section("Jobs", "queue", "throughput", "backlog"), Section("Details", "slowest", "notes")]


class Vault(Dashboard):
    title = "Vault"
    channel = "vault"
    balance = Stat(title="Balance")
