#!/usr/bin/python3
"""Turns the benchmark's result rows into bench/RESULTS.md and one plot.

    /usr/bin/python3 bench/report.py --rows DIR_OR_FILE... --machine FILE_OR_TEXT \
        --out bench/RESULTS.md --plot bench/results.png [--notes FILE]

--rows takes .jsonl files, or directories whose *.jsonl files are all read: one
JSON object per line, as every measuring tool writes them (tool, section, name,
an optional config object, and the section's numbers). When the same
measurement (tool, section, name, config, windows, concurrency) appears more than
once, the last one read wins, so a re-run appended to a file replaces the old row.
--machine is the runner's JSON description of the machine (or plain text).
--notes is Markdown appended verbatim as the last section.

Every target is judged from the rows alone; one with no rows says "not measured".
"""
import argparse
import json
import math
import os
import sys
from pathlib import Path

REGENERATE = "sudo bash bench/run"
TOOL_NAMES = {"foxpool": "foxpool", "raw_extension": "raw extension", "puppeteer": "puppeteer"}
# Tasks every tool runs under the same name, in the order the tables list them.
TASKS = ["Evaluate 1+1", "GetTitle", "FindElement #b", "Click #b",
         "Screenshot (viewport PNG)", "Navigate (local page)"]
MIB_PER_MB = 1e6 / 2**20
MACHINE_LABELS = {"cpu": "CPU", "cores": "Cores", "memory_gib": "Memory", "os": "OS",
                  "firefox": "Firefox", "date": "Date", "commands": "Commands run"}


# ---- reading ----

def row_files(args):
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            yield from sorted(path.glob("*.jsonl"))
        elif path.is_file():
            yield path
        else:
            sys.exit(f"report.py: no such file or directory: {arg}")


def read_rows(args):
    rows = {}
    for path in row_files(args):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                sys.exit(f"report.py: {path}:{number}: {error}")
            rows[identity(row)] = row
    return list(rows.values())


def identity(row):
    return (row["tool"], row["section"], row.get("name"), config_label(row),
            row.get("windows"), row.get("concurrency"))


def read_machine(arg):
    """A dict from a JSON file or JSON text; anything else is kept as text."""
    path = Path(arg)
    text = path.read_text() if path.is_file() else arg
    try:
        machine = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()
    return machine if isinstance(machine, dict) else text.strip()


# ---- selecting and formatting ----

def select(rows, tool=None, section=None, name=None):
    return [r for r in rows
            if (tool is None or r["tool"] == tool)
            and (section is None or r["section"] == section)
            and (name is None or r.get("name") == name)]


def config_label(row):
    return ", ".join(f"{key}={value}" for key, value in (row.get("config") or {}).items())


def series_label(row):
    label = config_label(row)
    tool = TOOL_NAMES.get(row["tool"], row["tool"])
    return f"{tool} ({label})" if label else tool


def group_by(rows, key):
    """Rows grouped by key(row), groups and rows in the order read."""
    groups = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def by_config(rows):
    return group_by(rows, config_label)


def by_series(rows):
    return group_by(rows, series_label)


def same_config_or_first(rows, config):
    """The peer row measured under `config` if there is one, else the first."""
    for row in rows:
        if config_label(row) == config:
            return row
    return rows[0] if rows else None


def num(value):
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(headers, body):
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in body]
    return lines + [""]


def section(title, *paragraphs):
    lines = [f"## {title}", ""]
    for paragraph in paragraphs:
        lines += [paragraph, ""]
    return lines


def tool_order(row):
    """foxpool, raw extension, puppeteer; sorted stably, so configs keep the order read."""
    tools = list(TOOL_NAMES)
    return tools.index(row["tool"]) if row["tool"] in tools else len(tools)


def task_order(names):
    known = [name for name in TASKS if name in names]
    return known + [name for name in dict.fromkeys(names) if name not in TASKS]


# ---- 1. title and machine ----

def machine_lines(machine):
    if isinstance(machine, str):
        return [f"- {line}" for line in machine.splitlines() if line.strip()]
    lines = []
    for key, value in machine.items():
        label = MACHINE_LABELS.get(key, key)
        if key == "memory_gib":
            lines.append(f"- {label}: {value} GiB")
        elif isinstance(value, list):
            lines.append(f"- {label}:")
            lines += [f"  - `{item}`" if key == "commands" else f"  - {item}" for item in value]
        elif key == "commands":
            lines.append(f"- {label}: `{value}`")
        elif isinstance(value, dict):
            lines.append(f"- {label}: {json.dumps(value)}")
        else:
            lines.append(f"- {label}: {value}")
    return lines


def title_section(machine):
    return ["# Benchmark results", "",
            "What issue 7 asked of foxpool, measured: warm leases, command round trips "
            "through gRPC against the same commands sent straight to the extension "
            "(\"raw extension\") and through puppeteer-core driving Firefox, throughput "
            "with many windows busy at once, start-up, memory and resets. Generated by "
            "`bench/report.py` from the result rows; to measure again and regenerate "
            f"this page and `bench/results.png`, run `{REGENERATE}`.", "",
            "Machine and commands:", ""] + machine_lines(machine) + [""]


# ---- 2. targets ----

def judged(target, ok, measured):
    return [target, "✅" if ok else "❌", measured]


def not_measured(target):
    return [target, "—", "not measured"]


def with_config(target, config):
    return f"{target} ({config})" if config else target


def lease_targets(rows):
    acquire = [r for r in select(rows, "foxpool", "lease") if r["name"].startswith("Acquire")]
    if not acquire:
        return [not_measured("Warm Acquire p50 ≤ 1 ms"),
                not_measured("Warm Acquire p99 ≤ 5 ms")]
    lines = []
    for config, group in by_config(acquire).items():
        row = group[0]
        lines.append(judged(with_config("Warm Acquire p50 ≤ 1 ms", config),
                            row["p50_ms"] <= 1, f"{num(row['p50_ms'])} ms ({row['name']})"))
        lines.append(judged(with_config("Warm Acquire p99 ≤ 5 ms", config),
                            row["p99_ms"] <= 5, f"{num(row['p99_ms'])} ms ({row['name']})"))
    return lines


def evaluate_targets(rows):
    target = "Evaluate through gRPC p50 ≤ 1.5 ms"
    ours = select(rows, "foxpool", "roundtrip", "Evaluate 1+1")
    if not ours:
        return [not_measured(target)]
    return [judged(with_config(target, config), group[0]["p50_ms"] <= 1.5,
                   f"{num(group[0]['p50_ms'])} ms")
            for config, group in by_config(ours).items()]


def service_added_targets(rows):
    target = "Service-added time ≤ 0.15 ms (Evaluate p50, foxpool − raw extension)"
    ours = select(rows, "foxpool", "roundtrip", "Evaluate 1+1")
    raw = select(rows, "raw_extension", "roundtrip", "Evaluate 1+1")
    if not ours or not raw:
        return [not_measured(target)]
    lines = []
    for config, group in by_config(ours).items():
        fox, bare = group[0]["p50_ms"], same_config_or_first(raw, config)["p50_ms"]
        added = fox - bare
        lines.append(judged(with_config(target, config), added <= 0.15,
                            f"{num(added)} ms ({num(fox)} − {num(bare)})"))
    return lines


def throughput_targets(rows):
    target = "32 windows driving: throughput ≥ 90 % of 2 windows', p99 ≤ 50 ms"
    lines = []
    for config, group in by_config(select(rows, "foxpool", "closed_loop")).items():
        at = {r["windows"]: r for r in group}
        if 2 not in at or 32 not in at:
            continue
        two, many = at[2], at[32]
        share = many["per_s"] / two["per_s"]
        ok = share >= 0.9 and many["p99_ms"] <= 50
        lines.append(judged(with_config(target, config), ok,
                            f"{num(many['per_s'])}/s = {share * 100:.0f} % of "
                            f"{num(two['per_s'])}/s; p99 {num(many['p99_ms'])} ms"))
    return lines or [not_measured(target)]


def largest_pool(rows):
    return max(rows, key=lambda r: r["windows"])


def memory_targets(rows):
    target = "≤ 230 MB (219.3 MiB) PSS per idle window"
    memory = select(rows, "foxpool", "memory")
    if not memory:
        return [not_measured(target)]
    lines = []
    for config, group in by_config(memory).items():
        row = largest_pool(group)
        mib = row["pss_mib_per_window"]
        lines.append(judged(with_config(target, config), mib <= 230 * MIB_PER_MB,
                            f"{mib:.1f} MiB = {mib / MIB_PER_MB:.1f} MB "
                            f"(pool of {row['windows']})"))
    return lines


def cold_start_targets(rows):
    specs = [("first window", "First window ready ≤ 2 s after start", "seconds",
              lambda v: v <= 2, lambda v: f"{num(v)} s"),
             ("fill", "Pool fills at ≥ 0.5 windows/s", "per_s",
              lambda v: v >= 0.5, lambda v: f"{num(v)} windows/s")]
    lines = []
    for name, target, field, passes, show in specs:
        found = select(rows, "foxpool", "cold_start", name)
        if not found:
            lines.append(not_measured(target))
        for config, group in by_config(found).items():
            row = largest_pool(group)
            lines.append(judged(with_config(target, config), passes(row[field]),
                                f"{show(row[field])} (pool of {row['windows']})"))
    return lines


def peer_targets(rows):
    lines = []
    for task, short in [("Evaluate 1+1", "Evaluate"), ("Navigate (local page)", "Navigate"),
                        ("Screenshot (viewport PNG)", "Screenshot")]:
        target = f"{short} round trip no slower than puppeteer's (p50)"
        ours = select(rows, "foxpool", "roundtrip", task)
        theirs = select(rows, "puppeteer", "roundtrip", task)
        if not ours or not theirs:
            lines.append(not_measured(target))
            continue
        for config, group in by_config(ours).items():
            fox, pup = group[0]["p50_ms"], same_config_or_first(theirs, config)["p50_ms"]
            lines.append(judged(with_config(target, config), fox <= pup,
                                f"{num(fox)} ms vs {num(pup)} ms ({fox / pup:.2f}×)"))
    return lines


def targets_section(rows):
    body = (lease_targets(rows) + evaluate_targets(rows) + service_added_targets(rows)
            + throughput_targets(rows) + memory_targets(rows) + cold_start_targets(rows)
            + peer_targets(rows))
    return section("Targets", "Issue 7's targets, judged from the rows below "
                   "(foxpool's own measurements; MB = 10⁶ bytes, MiB = 2²⁰).") \
        + table(["Target", "Met", "Measured"], body)


# ---- 3. leases and round trips ----

def latency_cells(row):
    return [num(row["p50_ms"]), num(row["p90_ms"]), num(row["p99_ms"]), row["n"]]


def leases_section(rows):
    leases = sorted(select(rows, section="lease"), key=tool_order)
    if not leases:
        return []
    body = [[series_label(r), r["name"]] + latency_cells(r) for r in leases]
    return section("Leases", "Warm Acquire and Release, one client, sequential.") \
        + table(["tool", "call", "p50 ms", "p90 ms", "p99 ms", "n"], body)


def p50_p99(row):
    return [num(row["p50_ms"]), num(row["p99_ms"])] if row else ["—", "—"]


def roundtrip_row(task, config, trips, peers):
    """Cells for one task: foxpool's row under `config`, and each peer's."""
    fox = same_config_or_first(select(trips, "foxpool", name=task), config)
    raw = same_config_or_first(select(trips, "raw_extension", name=task), config)
    pup = same_config_or_first(select(trips, "puppeteer", name=task), config)
    cells = [with_config(task, config)] + p50_p99(fox)
    if "raw_extension" in peers:
        cells.append(num(raw["p50_ms"]) if raw else "—")
    if "puppeteer" in peers:
        cells += p50_p99(pup)
        cells.append(f"{fox['p50_ms'] / pup['p50_ms']:.2f}×" if fox and pup else "—")
    return cells


def roundtrip_section(rows):
    trips = select(rows, section="roundtrip")
    if not trips:
        return []
    peers = {r["tool"] for r in trips}
    body = [roundtrip_row(task, config, trips, peers)
            for task in task_order([r["name"] for r in trips])
            for config in by_config(select(trips, "foxpool", name=task)) or [""]]
    headers = ["task", "foxpool p50 ms", "foxpool p99 ms"]
    headers += ["raw extension p50 ms"] if "raw_extension" in peers else []
    if "puppeteer" in peers:
        headers += ["puppeteer p50 ms", "puppeteer p99 ms", "foxpool / puppeteer p50"]
    return section("Command round trips",
                   "One command at a time on one window, side by side; the raw extension "
                   "sends the same command to the extension without gRPC or the service.") \
        + table(headers, body) + peer_configs(trips)


def peer_configs(trips):
    """The peers' configs, which the table has no room for (a screenshot's viewport, say)."""
    lines = []
    for tool in ("raw_extension", "puppeteer"):
        groups = by_config(select(trips, tool))
        parts = [f"{config} ({', '.join(r['name'] for r in group)})" if len(groups) > 1
                 else config for config, group in groups.items() if config]
        if parts:
            lines.append(f"- {TOOL_NAMES[tool]}: " + "; ".join(parts))
    return ["Peers measured under:", ""] + lines + [""] if lines else []


# ---- 4. closed loop ----

def closed_loop_section(rows):
    loop = select(rows, section="closed_loop")
    if not loop:
        return []
    lines = section("Closed loop",
                    "L windows each keep one `#b` lookup (FindElement or the peer's "
                    "equivalent) in flight for the whole run.")
    series = by_series(sorted(loop, key=tool_order))
    for label, group in series.items():
        lines += [f"### {label}", ""]
        body = [[r["windows"], num(r["per_s"])] + latency_cells(r)[:3] + [r["n"], r["errors"]]
                for r in sorted(group, key=lambda r: r["windows"])]
        lines += table(["windows", "per s", "p50 ms", "p90 ms", "p99 ms", "n", "errors"], body)
    return lines + closed_loop_comparison(series)


def closed_loop_comparison(series):
    if len(series) < 2:
        return []
    at = {label: {r["windows"]: r for r in group} for label, group in series.items()}
    windows = sorted({w for rows in at.values() for w in rows})
    body = []
    for w in windows:
        cells = [w]
        for rows in at.values():
            row = rows.get(w)
            cells.append(f"{num(row['per_s'])}/s, p99 {num(row['p99_ms'])} ms" if row else "—")
        body.append(cells)
    return ["### Side by side", ""] + table(["windows"] + list(at), body)


# ---- 5. new browser per task ----

def per_task_section(rows):
    tasks = sorted(select(rows, section="per_task"), key=tool_order)
    if not tasks:
        return []
    body = [[series_label(r), r.get("concurrency", "—")] + latency_cells(r)[:3]
            + [r["n"], num(r["per_s"])] for r in tasks]
    intro = ("A new browser for every task: launch, open the local page, read "
             "`document.title`, close.")
    if select(tasks, "foxpool"):
        intro += " foxpool's row is the same task on a leased warm window."
    return section("New browser per task", intro) \
        + table(["tool", "concurrency", "p50 ms", "p90 ms", "p99 ms", "n", "tasks/s"], body)


# ---- 6. cold start, memory, reset, prefs ----

def cold_start_section(rows):
    starts = select(rows, section="cold_start")
    if not starts:
        return []
    merged = {}
    for row in sorted(starts, key=tool_order):
        key = (series_label(row), row["windows"])
        merged.setdefault(key, {})[row["name"]] = row
    body = []
    for (label, windows), named in merged.items():
        first, fill = named.get("first window"), named.get("fill")
        body.append([label, windows, num(first["seconds"]) if first else "—",
                     num(fill["seconds"]) if fill else "—",
                     num(fill["per_s"]) if fill else "—"])
    return section("Cold start", "Seconds from the service's start.") \
        + table(["tool", "pool size", "first window s", "all ready s", "windows/s filling"], body)


def memory_section(rows):
    memory = sorted(select(rows, section="memory"), key=lambda r: (tool_order(r), r["windows"]))
    if not memory:
        return []
    body = [[series_label(r), r["windows"], f"{r['pss_mib_per_window']:.1f}",
             f"{r['pss_mib_per_window'] / MIB_PER_MB:.1f}",
             num(r.get("server_rss_mib"))]
            for r in memory]
    return section("Memory", "Idle windows after the pool is ready: mean PSS of one "
                   "window (shared libraries split among windows), and the server's RSS.") \
        + table(["tool", "pool size", "PSS per window MiB", "PSS per window MB",
                 "server RSS MiB"], body)


def reset_section(rows):
    resets = sorted(select(rows, section="reset"), key=tool_order)
    if not resets:
        return []
    body = [[series_label(r), r["name"]] + latency_cells(r)
            + [num(r.get("mean_ms")), "yes" if r.get("estimate") else "no"] for r in resets]
    return section("Reset", "Putting a window back to a clean state between leases; "
                   "an estimate comes from histogram buckets, not exact samples.") \
        + table(["tool", "what", "p50 ms", "p90 ms", "p99 ms", "n", "mean ms", "estimate"], body)


def difference(row, baseline, field):
    """How much more `field` the row has than the baseline: what the lean group saves."""
    if baseline is None or row.get(field) is None or baseline.get(field) is None:
        return None
    return row[field] - baseline[field]


def prefs_section(rows):
    prefs = select(rows, section="pref")
    if not prefs:
        return []
    baseline = next((r for r in prefs if r["name"] == "all lean prefs"), None)
    others = [r for r in prefs if r is not baseline]
    others.sort(key=lambda r: difference(r, baseline, "pss_mib_per_window") or 0, reverse=True)
    body = [[baseline["name"], num(baseline["pss_mib_per_window"]),
             num(baseline.get("start_seconds")), "(baseline)", "(baseline)"]] if baseline else []
    body += [[r["name"], num(r["pss_mib_per_window"]), num(r.get("start_seconds")),
              num(difference(r, baseline, "pss_mib_per_window")),
              num(difference(r, baseline, "start_seconds"))] for r in others]
    intro = ("Each row reverts one group of lean preferences to Firefox's default; "
             "the saving is what the group is worth against all lean prefs on.")
    if baseline is None:
        intro += " The baseline row (\"all lean prefs\") is missing, so there are no savings."
    return section("Lean preferences", intro) \
        + table(["reverted group", "PSS per window MiB", "window start s",
                 "the lean group saves, MiB", "the lean group saves, s of start"], body)


def template_section(rows):
    launches = select(rows, section="template")
    if not launches:
        return []
    baseline = next((r for r in launches if r.get("template_mib") is None), None)
    body = [[r["name"], num(r["template_mib"]) if r.get("template_mib") else "—", r["n"],
             num(r["p50_ms"]), num(r["min_ms"]), num(r["max_ms"]), num(r["made_ms"]),
             num(difference(r, baseline, "p50_ms")) if r is not baseline else "(baseline)"]
            for r in launches]
    return section(
        "Template profile",
        "Milliseconds from Firefox's spawn until its extension opened the hub connection, on a "
        "fresh profile (as foxpool writes one without a seed) and on copies of a template profile "
        "that one Firefox start initialised, launched in turn.") \
        + table(["profile", "template MiB", "launches", "p50 ms", "min ms", "max ms",
                 "profile made in ms (p50)", "this minus fresh, ms (p50)"], body)


# ---- 7. notes ----

def notes_section(path):
    if not path:
        return []
    return section("Notes") + [Path(path).read_text().rstrip(), ""]


def figure_lines(out, plot_path):
    link = os.path.relpath(plot_path, os.path.dirname(os.path.abspath(out)))
    return [f"![Plot of the closed-loop and round-trip results]({link})", ""]


def markdown(rows, machine, notes, figure):
    lines = (title_section(machine) + targets_section(rows) + figure + leases_section(rows)
             + roundtrip_section(rows) + closed_loop_section(rows) + per_task_section(rows)
             + cold_start_section(rows) + memory_section(rows) + reset_section(rows)
             + prefs_section(rows) + template_section(rows) + notes_section(notes))
    return "\n".join(lines).rstrip() + "\n"


# ---- plot ----

TOOL_COLOURS = {"foxpool": "tab:blue", "raw_extension": "tab:gray", "puppeteer": "tab:orange"}
CONFIG_STYLES = [("-", "o", ""), ("--", "s", "//"), (":", "^", ".."), ("-.", "D", "xx")]


def styles(series):
    """One colour per tool, so a tool looks the same in every subplot, and a line
    style (or bar hatch) per series of that tool."""
    count, style = {}, {}
    for label, group in series.items():
        tool = group[0]["tool"]
        line, marker, hatch = CONFIG_STYLES[count.get(tool, 0) % len(CONFIG_STYLES)]
        count[tool] = count.get(tool, 0) + 1
        style[label] = {"color": TOOL_COLOURS.get(tool, "tab:green"),
                        "linestyle": line, "marker": marker, "hatch": hatch}
    return style


def bar_series(trips):
    """Round trips grouped into bars: one series per tool, split by config only where
    a tool measured the same task under several (a peer's per-task extras such as
    a screenshot's viewport would otherwise scatter its bars over two series)."""
    series = {}
    for tool, tool_rows in group_by(sorted(trips, key=tool_order), lambda r: r["tool"]).items():
        names = [r["name"] for r in tool_rows]
        split = len(names) != len(set(names))
        for row in tool_rows:
            series.setdefault(series_label(row) if split else TOOL_NAMES.get(tool, tool),
                              []).append(row)
    return series


def plot_closed_loop(series, throughput_ax, p99_ax):
    style = styles(series)
    windows = sorted({r["windows"] for group in series.values() for r in group})
    for label, group in series.items():
        group = sorted(group, key=lambda r: r["windows"])
        xs = [r["windows"] for r in group]
        look = {key: style[label][key] for key in ("color", "linestyle", "marker")}
        throughput_ax.plot(xs, [r["per_s"] for r in group], label=label, **look)
        p99_ax.plot(xs, [r["p99_ms"] for r in group], label=label, **look)
    for ax, title, ylabel in [(throughput_ax, "Closed-loop throughput", "commands per second"),
                              (p99_ax, "Closed-loop p99 latency", "p99 latency (ms, log)")]:
        ax.set_xscale("log", base=2)
        ax.set_xticks(windows, [str(w) for w in windows])
        ax.set_title(title)
        ax.set_xlabel("windows driven at once, L (log₂)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    throughput_ax.set_ylim(bottom=0)
    plain_log_scale(p99_ax)


def plain_log_scale(ax):
    """A log y axis labelled 1, 10, 100 rather than 10⁰, 10¹, 10²."""
    from matplotlib.ticker import FormatStrFormatter, NullFormatter
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot_roundtrips(trips, ax):
    tasks = task_order([r["name"] for r in trips])
    series = bar_series(trips)
    style = styles(series)
    width = 0.8 / len(series)
    for i, (label, group) in enumerate(series.items()):
        p50 = {r["name"]: r["p50_ms"] for r in group}
        xs = [t + (i - (len(series) - 1) / 2) * width for t in range(len(tasks))]
        values = [p50.get(task, 0) for task in tasks]
        bars = ax.bar(xs, values, width, label=label, color=style[label]["color"],
                      hatch=style[label]["hatch"], edgecolor="white")
        ax.bar_label(bars, [num(v) if v else "" for v in values], fontsize="x-small")
    ax.set_xticks(range(len(tasks)), tasks)
    plain_log_scale(ax)
    # Bars start at the decade below the fastest, not wherever matplotlib would cut.
    ax.set_ylim(bottom=10 ** math.floor(math.log10(min(r["p50_ms"] for r in trips))))
    ax.set_title("Command round trip, p50")
    ax.set_ylabel("p50 latency (ms, log)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="small")


def plot(rows, machine, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loop, trips = select(rows, section="closed_loop"), select(rows, section="roundtrip")
    if not loop and not trips:
        print("report.py: no closed_loop or roundtrip rows, no plot", file=sys.stderr)
        return False
    figure = plt.figure(figsize=(12, 9 if loop and trips else 4.8), dpi=100,
                        layout="constrained")
    grid = figure.add_gridspec(2 if loop and trips else 1, 2)
    if loop:
        plot_closed_loop(by_series(sorted(loop, key=tool_order)),
                         figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1]))
    if trips:
        plot_roundtrips(trips, figure.add_subplot(grid[-1, :]))
    cores = machine.get("cores") if isinstance(machine, dict) else None
    figure.suptitle("foxpool benchmark" + (f" — {cores} cores" if cores else ""))
    figure.savefig(path)
    plt.close(figure)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", required=True, help=".jsonl files or directories")
    parser.add_argument("--machine", required=True, help="JSON file or text")
    parser.add_argument("--out", required=True, help="the Markdown to write")
    parser.add_argument("--plot", required=True, help="the PNG to write")
    parser.add_argument("--notes", help="Markdown file appended as the Notes section")
    args = parser.parse_args()

    rows = read_rows(args.rows)
    if not rows:
        sys.exit("report.py: no rows")
    machine = read_machine(args.machine)
    drawn = plot(rows, machine, args.plot)
    figure = figure_lines(args.out, args.plot) if drawn else []
    Path(args.out).write_text(markdown(rows, machine, args.notes, figure))


if __name__ == "__main__":
    main()
