#!/usr/bin/env python3
"""Deterministic workload generator for pactum's benchmarks.

Writes, from a seed:
  - amendments as JSON Lines, for `pactum append -` (one amendment per line);
  - the equivalent git history as a `git fast-import` stream: one file per
    agreement holding its consolidated text, one commit per amendment dated by
    its effective date (so `git rev-list -1 --before=DATE` answers "what did it
    say on DATE").

Every amendment is valid where the ledger records it: the generator keeps a
small model of each agreement (clauses in force, open events) and only emits
changes that apply. Mix per amendment: mostly add/amend, some repeal, until,
until_event + occur; 5% retroactive (a dated-earlier add of a fresh clause
with a sunset a few months on, that nothing later touches); 1% retractions
(of such a retroactive add); a few agreements end with a terminate. Above
60 amendable clauses in force, adds give way to repeals, so even the
100,000-amendment agreement says a bounded number of things at a time.
Entries come out at 300–600 bytes.

Usage: gen.py --agreements N --amendments M [--long K] [--seed S]
              --jsonl OUT.jsonl [--git OUT.fi]
"""
import argparse
import datetime
import json
import random

# Above this many amendable clauses in force, new clauses give way to repeals
# (agreements of thousands of amendments still say a few dozen things).
TOUCHABLE_MAX = 60

WORDS = ("party shall provide service capacity compute cloud exclusive licence "
         "models research revenue share payment term notice audit data rights "
         "consent warranty liability cap indemnity renewal territory support "
         "availability security confidential breach remedy assignment").split()


def sentence(rng, lo, hi):
    n = rng.randint(lo, hi)
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


class Agreement:
    def __init__(self, slug, rng, start):
        self.slug = slug
        self.rng = rng
        self.date = start
        self.start = start
        self.clauses = {}        # id -> (text, terms)
        self.until = {}          # id -> last day in force, for clauses with a sunset
        self.touchable = []      # clause ids that later changes may amend/repeal
        self.open_events = []    # events some clause waits for
        self.n = 0
        self.retro = []          # ids of retroactive amendments (retractable)
        self.terminated = False

    def next_id(self, kind):
        self.n += 1
        return f"{self.n:06d}-{kind}"

    def step(self):
        self.date += datetime.timedelta(days=self.rng.randint(1, 9))
        return self.date

    def expire(self, day):
        """Drops the clauses whose sunset is before `day` (the ledger does the same)."""
        for cid in [c for c, u in self.until.items() if u < day]:
            self.clauses.pop(cid, None)
            del self.until[cid]

    def consolidated(self):
        lines = [f"# {self.slug}"]
        for cid in sorted(self.clauses):
            text, terms = self.clauses[cid]
            lines.append(f"\n## {cid}\n{text}")
            for k in sorted(terms):
                lines.append(f"- {k}: {terms[k]}")
        return "\n".join(lines) + "\n"


def amendment(a, kind, changes, effective, title):
    out = {"agreement": a.slug, "id": a.next_id(kind), "title": title, "change": changes}
    if effective is not None:
        out["effective"] = effective.isoformat()
    return out


def first(a):
    rng = a.rng
    changes = [{"op": "establish", "title": f"Agreement {a.slug}",
                "parties": [{"id": "alpha", "name": "Alpha Corp"}, {"id": "beta", "name": "Beta LLC"}]}]
    for k in range(3):
        cid = f"base.c{k}"
        text = sentence(rng, 12, 22)
        terms = {"fee_usd": rng.randint(1000, 99999)}
        changes.append({"op": "add", "clause": cid, "text": text, "terms": terms})
        a.clauses[cid] = (text, terms)
        a.touchable.append(cid)
    return amendment(a, "establish", changes, a.date, "Agreement signed")


def later(a):
    """One valid amendment continuing the agreement's timeline."""
    rng = a.rng
    r = rng.random()
    if r < 0.05 and a.n > 2:
        # Retroactive: a fresh clause dated in the past, never touched again.
        back = max(a.date - datetime.timedelta(days=rng.randint(1, 30)), a.start + datetime.timedelta(days=1))
        cid = f"retro.c{a.n}"
        text = sentence(rng, 10, 20)
        # A sunset a few months on, so late-recorded clauses do not pile up.
        until = back + datetime.timedelta(days=rng.randint(30, 120))
        am = amendment(a, "retro", [{"op": "add", "clause": cid, "text": text,
                                      "terms": {"ref": f"R-{a.n}"}, "until": until.isoformat()}], back, "Recorded late")
        a.clauses[cid] = (text, {"ref": f"R-{a.n}"})
        a.until[cid] = until
        a.retro.append((am["id"], cid))
        return am
    if r < 0.06 and a.retro:
        target, cid = a.retro.pop(rng.randrange(len(a.retro)))
        a.clauses.pop(cid, None)
        a.until.pop(cid, None)
        return amendment(a, "erratum", [{"op": "retract", "amendment": target, "reason": "entered in error"}],
                         None, "Erratum")
    d = a.step()
    if r < 0.10 and a.open_events:
        ev, cid = a.open_events.pop(0)
        a.clauses.pop(cid, None)
        return amendment(a, "occur", [{"op": "occur", "event": ev, "note": "condition met"}], d, "Event occurred")
    if len(a.touchable) > TOUCHABLE_MAX and r < 0.40:
        r = 0.35  # a long agreement keeps a bounded number of clauses in force: repeal
    if r < 0.30 or len(a.touchable) < 3:
        cid = f"sec{a.n}.c"
        text = sentence(rng, 14, 30)
        terms = {"rate_percent": str(rng.randint(1, 40)), "review_date": (d + datetime.timedelta(days=365)).isoformat()}
        change = {"op": "add", "clause": cid, "text": text, "terms": terms}
        if rng.random() < 0.15:
            ev = f"ev{a.n}"
            change["until_event"] = ev
            a.open_events.append((ev, cid))
        elif rng.random() < 0.1:
            # A sunset: nothing touches the clause again (it may have ended).
            change["until"] = (d + datetime.timedelta(days=3650)).isoformat()
            a.until[cid] = d + datetime.timedelta(days=3650)
        else:
            a.touchable.append(cid)
        a.clauses[cid] = (text, terms)
        return amendment(a, "add", [change], d, "New clause")
    if r < 0.40:
        cid = a.touchable.pop(rng.randrange(len(a.touchable)))
        a.clauses.pop(cid, None)
        return amendment(a, "repeal", [{"op": "repeal", "clause": cid}], d, "Clause removed")
    cid = rng.choice(a.touchable)
    text = sentence(rng, 14, 30)
    terms = dict(a.clauses[cid][1])
    terms["fee_usd"] = rng.randint(1000, 99999)
    a.clauses[cid] = (text, terms)
    return amendment(a, "amend", [{"op": "amend", "clause": cid, "text": text,
                                    "set": {"fee_usd": terms["fee_usd"]}}], d, "Clause amended")


def histories(args):
    rng = random.Random(args.seed)
    plans = [(f"{args.prefix}-{i:05d}", args.amendments) for i in range(args.agreements)]
    if args.long:
        plans.append(("long-agreement", args.long))
    agreements = [Agreement(slug, random.Random(rng.random()), datetime.date(2000, 1, 3))
                  for slug, _ in plans]
    counts = [m for _, m in plans]
    # Interleave agreements round-robin, as a busy ledger would see them.
    done = [0] * len(plans)
    remaining = sum(counts)
    idx = 0
    while remaining:
        progressed = False
        for i, a in enumerate(agreements):
            if done[i] >= counts[i]:
                continue
            if done[i] == 0:
                am = first(a)
            elif done[i] == counts[i] - 1 and i % 97 == 5:
                a.terminated = True
                am = amendment(a, "end", [{"op": "terminate", "note": "agreement ended"}], a.step(), "Terminated")
            else:
                am = later(a)
            a.expire(a.date)
            done[i] += 1
            remaining -= 1
            progressed = True
            idx += 1
            yield a, am
        if not progressed:
            break


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agreements", type=int, required=True)
    p.add_argument("--amendments", type=int, required=True)
    p.add_argument("--long", type=int, default=0, help="one more agreement with this many amendments")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--prefix", default="agr", help="agreement ids are PREFIX-00000, …")
    p.add_argument("--jsonl", required=True)
    p.add_argument("--git", help="also write a git fast-import stream")
    args = p.parse_args()
    fi = open(args.git, "w", encoding="utf-8") if args.git else None
    mark = 0
    with open(args.jsonl, "w", encoding="utf-8") as out:
        for a, am in histories(args):
            out.write(json.dumps(am, separators=(",", ":")) + "\n")
            if fi:
                mark += 1
                blob = a.consolidated().encode()
                when = am.get("effective") or a.date.isoformat()
                ts = int(datetime.datetime.fromisoformat(when).replace(tzinfo=datetime.timezone.utc).timestamp())
                ts = max(ts, 0)
                msg = f"{a.slug}: {am['id']} {am['title']}".encode()
                fi.write(f"commit refs/heads/main\nmark :{mark}\ncommitter bench <bench@example.org> {ts} +0000\n")
                fi.write(f"data {len(msg)}\n")
                fi.flush()
                fi.buffer.write(msg + b"\n")
                fi.write(f"M 100644 inline {a.slug}.md\ndata {len(blob)}\n")
                fi.flush()
                fi.buffer.write(blob + b"\n")
    if fi:
        fi.close()


if __name__ == "__main__":
    main()
