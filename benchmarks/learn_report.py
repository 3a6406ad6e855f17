"""Learning benchmark: the tables (datasets, from the file, steady state, fast path off, text
stream, latency) and the targets."""

from __future__ import annotations

from _harness import check


def report(results: dict, a) -> list[str]:
    lines: list[str] = []
    say = lines.append
    say(
        f"\nprequential accuracy and speed, like for like: both learners take rows already in"
        f" memory\n(River: its dicts, one by one; streamlab: DataFrame batches of <= {a.batch} rows)"
    )
    head = f"  {'dataset':<14}{'rows':>7}  {'acc sl':>7} {'acc river':>9} {'diff':>6}"
    head += f"  {'sl rows/s':>10} {'river rows/s':>12} {'ratio':>6}  verdict"
    say(head)
    for name, d in results["datasets"].items():
        s, r = d["streamlab_memory"], d["river"]
        diff = (s["accuracy"] - r["accuracy"]) * 100
        ratio = s["rows_per_s"] / r["rows_per_s"]
        ok = diff >= -1.0 and ratio >= 3.0
        d["accuracy_diff_points"], d["speed_ratio"], d["pass"] = diff, ratio, ok
        say(
            f"  {name:<14}{d['rows']:>7}  {s['accuracy']:>7.4f} {r['accuracy']:>9.4f} {diff:>+6.2f}"
            f"  {s['rows_per_s']:>10,.0f} {r['rows_per_s']:>12,.0f} {ratio:>5.1f}x"
            f"  {'PASS' if ok else 'FAIL'}"
        )
    total = {
        who: sum(d["rows"] for d in results["datasets"].values())
        / sum(d[who]["seconds"] for d in results["datasets"].values())
        for who in ("streamlab_memory", "river", "streamlab", "river_file")
    }
    results["all_datasets_rows_per_s"] = total
    say(
        f"  {'all (rows/s)':<14}{'':>7}  {'':>7} {'':>9} {'':>6}"
        f"  {total['streamlab_memory']:>10,.0f} {total['river']:>12,.0f}"
        f" {total['streamlab_memory'] / total['river']:>5.1f}x"
    )
    say(
        "\nfrom the CSV file (parsing included): streamlab.replay(speed=0) vs"
        " river.stream.iter_csv; same accuracy as above"
    )
    head = f"  {'dataset':<14}{'sl rows/s':>10} {'river rows/s':>12} {'ratio':>6}"
    head += f"  {'sl file / river memory':>22}  {'sl, batches<=5000':>17}  {'sk/row rows/s':>13}"
    say(head)
    for name, d in results["datasets"].items():
        s, f, r, k = d["streamlab"], d["river_file"], d["river"], d["sklearn_per_row"]
        d["file_ratio"] = s["rows_per_s"] / f["rows_per_s"]
        d["file_vs_memory_ratio"] = s["rows_per_s"] / r["rows_per_s"]
        b5 = d["streamlab_batch_5000"]["rows_per_s"]
        say(
            f"  {name:<14}{s['rows_per_s']:>10,.0f} {f['rows_per_s']:>12,.0f}"
            f" {d['file_ratio']:>5.1f}x  {d['file_vs_memory_ratio']:>21.1f}x"
            f"  {b5:>10,.0f} ({b5 / r['rows_per_s']:.1f}x)  {k['rows_per_s']:>13,.0f}"
        )
    say(
        f"  {'all (rows/s)':<14}{total['streamlab']:>10,.0f} {total['river_file']:>12,.0f}"
        f" {total['streamlab'] / total['river_file']:>5.1f}x"
        f"  {total['streamlab'] / total['river']:>21.1f}x"
    )
    looped = {name: d["looped"] for name, d in results["datasets"].items() if "looped" in d}
    if looped:
        say(f"\nsteady state: each small dataset looped {a.loops} times as one stream")
        say(
            f"  {'dataset':<14}{'rows':>8}  {'acc sl':>7} {'acc river':>9} {'diff':>6}"
            f"  {'sl rows/s':>10} {'river rows/s':>12} {'ratio':>6}"
        )
    for name, lp in looped.items():
        s, r = lp["streamlab"], lp["river"]
        say(
            f"  {name:<14}{lp['rows']:>8}  {s['accuracy']:>7.4f} {r['accuracy']:>9.4f}"
            f" {lp['accuracy_diff_points']:>+6.2f}  {s['rows_per_s']:>10,.0f}"
            f" {r['rows_per_s']:>12,.0f} {lp['speed_ratio']:>5.1f}x"
        )

    off = results.get("fastpath_off") or {}
    if off and "error" not in off:
        say(
            "\nfast path off (STREAMLAB_FASTPATH=0): the same learner rows in a helper process"
            f" (env {off.get('env')}); 'on' is the same helper with the fast path as configured"
        )
        say(
            f"  {'dataset':<14}{'acc off':>8} {'acc on':>8}  {'memory rows/s':>13} {'vs on':>6}"
            f" {'vs River':>8}  {'file rows/s':>11} {'vs on':>6}"
        )
        for name, d in results["datasets"].items():
            o, on = off[name], off["helper_on"][name]
            om, of = o["streamlab_memory"], o["streamlab"]
            on_m, on_f = on["streamlab_memory"], on["streamlab"]
            say(
                f"  {name:<14}{om['accuracy']:>8.4f} {on_m['accuracy']:>8.4f}"
                f"  {om['rows_per_s']:>13,.0f} {om['rows_per_s'] / on_m['rows_per_s']:>5.2f}x"
                f" {om['rows_per_s'] / d['river']['rows_per_s']:>7.1f}x"
                f"  {of['rows_per_s']:>11,.0f} {of['rows_per_s'] / on_f['rows_per_s']:>5.2f}x"
            )
    elif off:
        say(f"\nfast path off (STREAMLAB_FASTPATH=0): ERROR {off['error']}")
    text = results["text"]
    say(
        f"\ntext stream: {text['lines']:,} labelled lines, hashing 2**18 + logistic regression,"
        " per-class table in complete mode"
    )
    say(f"  {'row':<58}{'start-up':>9} {'seconds':>8} {'rows/s':>9} {'accuracy':>9}")
    t, c = text["streamlab"], text["streamlab_counts"]
    say(
        f"  {'streamlab text_classifier, socket, test-then-train':<58}{t['startup_s']:>8.3f}s"
        f" {t['seconds']:>8.2f} {t['rows_per_s']:>9,.0f} {t['accuracy']:>9.4f}"
    )
    say(
        f"  {'streamlab counts only, socket, complete':<58}{c['startup_s']:>8.3f}s"
        f" {c['seconds']:>8.2f} {c['rows_per_s']:>9,.0f} {'':>9}"
    )
    sp = text["spark"]
    if sp is None:
        say(f"  {'Spark Structured Streaming':<58}skipped: {text['spark_skipped']}")
    else:
        sc, sl = sp["counts"], sp["learn"]
        say(
            f"  {'Spark counts, socket, complete (local[2])':<58}{sp['startup_s']:>8.1f}s"
            f" {sc['seconds']:>8.2f} {sc['rows_per_s']:>9,.0f} {'':>9}"
        )
        label = f"Spark learn, file, {a.spark_batch}-line micro-batches, refit each"
        say(
            f"  {label:<58}{'(same)':>9} {sl['seconds']:>8.2f} {sl['rows_per_s']:>9,.0f}"
            f" {sl['accuracy']:>9.4f}  ({sl['scored_accuracy']:.4f} on the"
            f" {sl['rows'] - sl['unscored']:,} rows after the first micro-batch)"
        )
        say(
            f"  Spark {sp['version']}: start-up is the SparkSession (JVM), once; the counts came"
            f" in micro-batches of {sc['rows_per_micro_batch']} rows taking"
            f" {sc['micro_batch_ms']} ms (the rest is the query's start and the empty first"
            f" trigger); learning: {sl['micro_batches']} micro-batches, {sl['fit_seconds']:.1f} s"
            " of it in fits"
        )

    say("\nlatency: a row's wait for its prediction (paced generate -> learn, real time)")
    for lat in results["latency"]:
        say(
            f"  {lat['rate']:>8,.0f} rows/s: p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms,"
            f" max {lat['max_ms']:.2f} ms; of which in learn: p50 {lat['learn_p50_ms']:.2f} ms,"
            f" p99 {lat['learn_p99_ms']:.2f} ms per batch; mean batch"
            f" {lat['mean_batch_rows']:.1f} rows ({lat['batches']} batches)"
        )

    return lines


def targets(results: dict) -> list[dict]:
    """Issue 5: accuracy within 1 point of River's, at >= 3x River's rows/s (like for like)."""
    out = []
    for name, d in results.get("datasets", {}).items():
        s, r = d["streamlab_memory"], d["river"]
        diff = (s["accuracy"] - r["accuracy"]) * 100
        speed = s["rows_per_s"] / r["rows_per_s"]
        out.append(check(f"{name}: streamlab / River rows/s (like for like)", speed, 3.0))
        out.append(check(f"{name}: accuracy streamlab - River", diff, -1.0, unit=" pt"))
    off = results.get("fastpath_off") or {}
    for name, d in results.get("datasets", {}).items():
        if name in off and "error" not in off:
            speed = off[name]["streamlab_memory"]["rows_per_s"] / d["river"]["rows_per_s"]
            out.append(check(f"{name}: fast path off / River rows/s", speed, 3.0, info=True))
    return out
