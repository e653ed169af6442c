"""Measures the audit against a bare server-side count and a naive client, in one run (see scripts/bench)."""
import argparse, datetime, json, os, re, statistics, subprocess, sys, tempfile, time

import pymongo
import yaml

DOCUMENT_CHECKS = ("field_completeness", "live_historic", "value_rules", "unique_values")


def timed(function, runs=3):
    """Median wall time of `runs` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_measured(arguments, allowed=(0,)):
    """Runs one mongo-audit command as its own process; returns (seconds, peak RSS in MB, stdout bytes)."""
    output = tempfile.TemporaryFile()
    start = time.perf_counter()
    process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.PIPE)
    # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would include the sample generator).
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in allowed:
        sys.exit(f"mongo-audit {arguments[1]} failed ({code}): {process.stderr.read().decode()}")
    output.seek(0)
    return seconds, usage.ru_maxrss / 1024, output.read()


def run_audit(binary, uri, database, spec_path, extra=()):
    """Runs mongo-audit as its own process; returns (seconds, peak RSS in MB, report)."""
    seconds, rss, output = run_measured(
        [binary, "audit", "--uri", uri, "--database", database, "--spec", spec_path, "--format", "json", *extra], allowed=(0, 1))
    return seconds, rss, json.loads(output)


def collections_read(spec):
    """Every collection a spec's checks name (collection, collections, to_collection), in order."""
    names = []
    for check in spec["checks"]:
        for key in ("collection", "to_collection"):
            if isinstance(check.get(key), str):
                names.append(check[key])
        names += [name for name in check.get("collections", []) if isinstance(name, str)]
    return list(dict.fromkeys(names))


def naive_checks(collection, spec):
    """What a hand-written script does: pull every whole document and test it in Python."""
    checks = {c["check"]: c for c in spec["checks"]}
    now = datetime.datetime.utcnow()
    completeness = checks["field_completeness"]["fields"]
    rules = checks["value_rules"]["rules"]
    live_rule = checks["live_historic"]
    long_ago = now - datetime.timedelta(days=live_rule.get("max_live_days", 30))
    counts = {"live": 0, "historic": 0, "end_before_start": 0, "start_in_future": 0, "live_too_long": 0, "deleted_live": 0}
    complete = {field: 0 for field in completeness}
    violations = [0] * len(rules)
    seen, duplicates = set(), 0
    type_names = {str: "string", datetime.datetime: "date", bool: "bool", int: "int", float: "double"}

    def get(document, path):
        for part in path.split("."):
            if not isinstance(document, dict) or part not in document:
                return KeyError
            document = document[part]
        return document

    for document in collection.find({}):
        for field, rule in completeness.items():
            value = get(document, field)
            if value is KeyError or value is None:
                continue
            kind = type_names.get(type(value), "other")
            wanted = set(rule.get("types", []))
            if "number" in wanted or "long" in wanted:
                wanted |= {"int", "double"}
            if not wanted or kind in wanted:
                complete[field] += 1
        start, end = document.get("start_time"), document.get("end_time", KeyError)
        live = end is KeyError or end is None or (isinstance(end, datetime.datetime) and end > now)
        counts["live" if live else "historic"] += 1
        if isinstance(start, datetime.datetime) and isinstance(end, datetime.datetime) and end < start:
            counts["end_before_start"] += 1
        if isinstance(start, datetime.datetime) and start > now:
            counts["start_in_future"] += 1
        if live and isinstance(start, datetime.datetime) and start < long_ago:
            counts["live_too_long"] += 1
        if live and document.get("deleted") is True:
            counts["deleted_live"] += 1
        for index, rule in enumerate(rules):
            value = get(document, rule["field"])
            if value is KeyError or value is None:
                continue
            ok = True
            if "min" in rule or "max" in rule:
                if rule.get("max") == "now" or rule.get("min") == "now":
                    ok = isinstance(value, datetime.datetime) and value <= now
                else:
                    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
                        rule.get("min", float("-inf")) <= value <= rule.get("max", float("inf"))
            if ok and "in" in rule:
                ok = value in rule["in"]
            violations[index] += 0 if ok else 1
        uuid = document.get("uuid")
        if uuid is not None:
            if uuid in seen:
                duplicates += 1
            seen.add(uuid)
    return counts, complete, violations, duplicates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench")
    parser.add_argument("--baseline", action="append", default=[],
                        help="another mongo-audit binary whose (b) is measured in the same run (repeatable)")
    parser.add_argument("--skip-naive", action="store_true", help="skip (c), the slow naive client")
    args = parser.parse_args()
    uri = os.environ["MONGODB_URI"]
    client = pymongo.MongoClient(uri)
    database = client[args.database]
    if database.recordings.estimated_document_count() != args.count:
        print(f"generating {args.count} sample recordings ...", file=sys.stderr)
        subprocess.run([args.binary, "sample", "--uri", uri, "--database", args.database, "--count", str(args.count)], check=True)

    spec = yaml.safe_load(open("Checks/mongo-audit.yml"))
    spec["checks"] = [c for c in spec["checks"] if c["check"] in DOCUMENT_CHECKS]
    unique_spec = dict(spec, checks=[c for c in spec["checks"] if c["check"] == "unique_values"])
    folder = tempfile.mkdtemp()
    spec_path, unique_path = os.path.join(folder, "document-checks.yml"), os.path.join(folder, "unique.yml")
    yaml.safe_dump(spec, open(spec_path, "w"), sort_keys=False)
    yaml.safe_dump(unique_spec, open(unique_path, "w"), sort_keys=False)
    assert "uuid_1" not in [i["name"] for i in database.recordings.list_indexes()], "unique_values must run without an index"

    bare_count = lambda name: list(database[name].aggregate([{"$group": {"_id": None, "n": {"$sum": 1}}}]))
    group_count, _ = timed(lambda: bare_count("recordings"))
    # The whole audit reads every collection its spec names: its fair floor is a bare count over each of them.
    shipped_collections = [name for name in collections_read(yaml.safe_load(open("Checks/mongo-audit.yml")))
                           if name in database.list_collection_names()]
    shipped_count = sum(timed(lambda: bare_count(name))[0] for name in shipped_collections)
    # With a baseline, the two binaries alternate so that both see the same machine load.
    audits, baseline_audits = [], {binary: [] for binary in args.baseline}
    for _ in range(3):
        audits.append(run_audit(args.binary, uri, args.database, spec_path))
        for binary in args.baseline:
            baseline_audits[binary].append(run_audit(binary, uri, args.database, spec_path))
    audit_seconds, audit_rss, report = min(audits, key=lambda r: r[0])
    unique_seconds, _, _ = min((run_audit(args.binary, uri, args.database, unique_path) for _ in range(3)), key=lambda r: r[0])
    # The whole audit with the shipped spec, and the documents the server examined for it.
    scanned = lambda: client.admin.command("serverStatus")["metrics"]["queryExecutor"]["scannedObjects"]
    before = scanned()
    full_seconds, full_rss, _ = run_audit(args.binary, uri, args.database, "Checks/mongo-audit.yml")
    examined = scanned() - before
    full_seconds, full_rss, _ = min(
        [(full_seconds, full_rss, None)] + [run_audit(args.binary, uri, args.database, "Checks/mongo-audit.yml") for _ in range(2)],
        key=lambda r: r[0])
    sampled_seconds, sampled_rss, _ = min(
        (run_audit(args.binary, uri, args.database, "Checks/mongo-audit.yml", ["--sample", "10000"]) for _ in range(3)), key=lambda r: r[0])
    documents = sum(database[name].estimated_document_count() for name in shipped_collections)
    # The same two audits once the spec's critical index on recordings.uuid exists (as `migrate apply` makes
    # it): a sample's references are then resolved through the index instead of a read of recordings.
    # The index is built for these runs and dropped after them, so the database is left as generated.
    database.recordings.create_index("uuid", name="bench_uuid_1")
    try:
        before = scanned()
        indexed_runs = [run_audit(args.binary, uri, args.database, "Checks/mongo-audit.yml")]
        indexed_examined = scanned() - before
        indexed_seconds, indexed_rss, _ = min(
            indexed_runs + [run_audit(args.binary, uri, args.database, "Checks/mongo-audit.yml") for _ in range(2)], key=lambda r: r[0])
        indexed_sampled_seconds, indexed_sampled_rss, _ = min(
            (run_audit(args.binary, uri, args.database, "Checks/mongo-audit.yml", ["--sample", "10000"]) for _ in range(3)),
            key=lambda r: r[0])
    finally:
        database.recordings.drop_index("bench_uuid_1")
    # profile of the one large collection, and init (which profiles every collection and tries its guesses).
    profile_seconds, profile_rss, _ = min(
        (run_measured([args.binary, "profile", "--uri", uri, "--database", args.database, "--collection", "recordings",
                       "--format", "json"]) for _ in range(3)), key=lambda r: r[0])
    init_seconds, init_rss, _ = min(
        (run_measured([args.binary, "init", "--uri", uri, "--database", args.database]) for _ in range(3)), key=lambda r: r[0])
    if args.skip_naive:
        naive_seconds, naive = float("nan"), None
    else:
        naive_seconds, naive = timed(lambda: naive_checks(database.recordings, spec), runs=1)

    titles = [f["title"] for c in report["checks"] for f in c["findings"]]
    print(f"documents: {args.count}")
    print(f"(a) bare server-side $group count:          {group_count:8.3f} s")
    print(f"(b) audit, every document-level check:       {audit_seconds:8.3f} s   peak RSS {audit_rss:.1f} MB")
    print(f"(c) naive client (pymongo, whole documents): {naive_seconds:8.3f} s")
    print(f"(d) unique_values alone, no index on uuid:   {unique_seconds:8.3f} s")
    print(f"ratios: (b)/(a) = {audit_seconds / group_count:.2f}x (target <= 4)   (c)/(b) = {naive_seconds / audit_seconds:.2f}x (target >= 4)"
          f"   (d)/(a) = {unique_seconds / group_count:.2f}x (target <= 3)   peak RSS {audit_rss:.1f} MB (target < 64)")
    print(f"(e) whole audit, shipped spec:               {full_seconds:8.3f} s   peak RSS {full_rss:.1f} MB")
    print(f"(f) whole audit, shipped spec, --sample 10000: {sampled_seconds:6.3f} s   peak RSS {sampled_rss:.1f} MB")
    print(f"(a') bare server-side $group count over {' + '.join(shipped_collections)}: {shipped_count:6.3f} s")
    print(f"ratios: (e)/(a) = {full_seconds / group_count:.2f}x (target <= 3)   (e)/(a') = {full_seconds / shipped_count:.2f}x"
          f"   (f)/(e) = {sampled_seconds / full_seconds:.2f} (target <= 0.10)"
          f"   documents examined by (e) / documents = {examined / max(documents, 1):.2f} (target <= 1.1 per collection)")
    print(f"(e') whole audit, uuid indexed:              {indexed_seconds:8.3f} s   peak RSS {indexed_rss:.1f} MB")
    print(f"(f') the same, --sample 10000:               {indexed_sampled_seconds:8.3f} s   peak RSS {indexed_sampled_rss:.1f} MB")
    print(f"ratios: (e')/(a') = {indexed_seconds / shipped_count:.2f}x   (f')/(e') = {indexed_sampled_seconds / indexed_seconds:.2f} (target <= 0.10)"
          f"   documents examined by (e') / documents = {indexed_examined / max(documents, 1):.2f}")
    print(f"(g) profile, recordings:                     {profile_seconds:8.3f} s   peak RSS {profile_rss:.1f} MB")
    print(f"(h) init, every collection:                  {init_seconds:8.3f} s   peak RSS {init_rss:.1f} MB")
    print(f"ratios: (g)/(a) = {profile_seconds / group_count:.2f}x (target <= 3)   (h)/(a) = {init_seconds / group_count:.2f}x"
          f"   (h)/(a') = {init_seconds / shipped_count:.2f}x   peak RSS (g) {profile_rss:.1f} MB, (h) {init_rss:.1f} MB (target < 64)")
    for binary, runs in baseline_audits.items():
        baseline_seconds, baseline_rss, _ = min(runs, key=lambda r: r[0])
        print(f"baseline {binary}: (b) {baseline_seconds:.3f} s, (b)/(a) = {baseline_seconds / group_count:.2f}x, "
              f"peak RSS {baseline_rss:.1f} MB; this binary / baseline = {audit_seconds / baseline_seconds:.3f}")
    if naive:
        counts, _, violations, duplicates = naive
        print(f"cross-check, naive counts: {counts}, rule violations {violations}, duplicate documents {duplicates}")
    print("audit findings: " + "; ".join(t for t in titles if re.search(r"\d", t)))


if __name__ == "__main__":
    main()
