"""How uniform is a server-side sample? Reads only (aggregations and counts); writes nothing.

Draws `--size` documents `--rounds` times with each sampler and reports the share of the drawn documents in
each quartile of the collection by `_id` (insertion order for ObjectIds), with z-scores against 0.25: a
uniform sample gives shares near 0.25 and |z| mostly under 2. Samplers:
  random-cursor  {$sample: {size}} as the first stage; below 5% of the collection the server draws it with a
                 WiredTiger random cursor (what `audit --sample` gets on a large collection)
  bernoulli      {$match: {$expr: {$lt: [{$rand: {}}, 1.1 * size / count]}}} then {$sample: {size}}: every
                 document kept with the same probability, then a random subset (scans the collection)
Usage: python3 scripts/sample_uniformity.py --uri URI --database DB --collection C [--size 10000] [--rounds 10]
"""
import argparse, math, time

import pymongo


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", default="mongodb://127.0.0.1:27017")
    parser.add_argument("--database", required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    collection = pymongo.MongoClient(args.uri)[args.database][args.collection]
    count = collection.estimated_document_count()
    quartiles = [
        next(collection.find({}, {"_id": 1}).sort("_id", 1).skip(int(count * q)).limit(1))["_id"] for q in (0.25, 0.5, 0.75)]
    samplers = {
        "random-cursor": [{"$sample": {"size": args.size}}],
        "bernoulli": [{"$match": {"$expr": {"$lt": [{"$rand": {}}, min(1.0, 1.1 * args.size / count)]}}}, {"$sample": {"size": args.size}}],
    }
    for name, pipeline in samplers.items():
        shares, drawn, seconds = [0, 0, 0, 0], 0, []
        for _ in range(args.rounds):
            start = time.perf_counter()
            for document in collection.aggregate(pipeline + [{"$project": {"_id": 1}}]):
                shares[sum(1 for q in quartiles if document["_id"] >= q)] += 1
                drawn += 1
            seconds.append(time.perf_counter() - start)
        error = math.sqrt(0.25 * 0.75 / drawn)
        print(f"{name:14s} {args.rounds} x {args.size} of {count}: quartile shares "
              + " ".join(f"{s / drawn:.4f}" for s in shares) + "   z " + " ".join(f"{(s / drawn - 0.25) / error:+.1f}" for s in shares)
              + f"   median {sorted(seconds)[len(seconds) // 2]:.3f} s a draw")


if __name__ == "__main__":
    main()
