"""Activity simulator: inserts, updates (new mod_ts) and deletes while a sync runs.

Uses the real clock (strictly increasing microseconds). One burst gives all its updated rows ONE
shared mod_ts (a bulk update, docs/lgfapi.md 2.9); inserted rows get create_ts = mod_ts = now, or with
`backdate_s` a mod_ts that much older than their create_ts (rows a mod_ts bookmark alone misses).
With `drift_s`, the updated rows' shared mod_ts is that much in the past and their create_ts is
untouched: a late commit, or an interface stamping an older mod_ts (drift, issue 23).
"""

# ruff: noqa: S608 - SQL text is built only from the static entity declarations; every
# request value is a bound parameter.

from __future__ import annotations

import random
import threading
from typing import Any

from tap_oracle_wms_sandbox import data
from tap_oracle_wms_sandbox.entities import BY_NAME, Entity
from tap_oracle_wms_sandbox.state import State

CORE = ("inventory", "order_hdr", "order_dtl", "allocation", "location", "ib_shipment", "wave", "item")


def base_entity(name: str) -> Entity:
    """The physical entity behind a name (oblpn -> container); static lookups are refused."""
    entity = BY_NAME.get(name)
    if entity is None or not entity.exposed:
        raise ValueError(f"unknown entity {name!r}")
    entity = BY_NAME[entity.table] if entity.table else entity
    if entity.static:
        raise ValueError(f"{name} is a fixed lookup/master table; pick a transactional entity")
    return entity


def pick_ids(state: State, entity: Entity, k: int, rng: random.Random) -> list[int]:
    """Up to k distinct existing ids, drawn reproducibly."""
    conn = state.conn
    top = conn.execute(f'SELECT max(id) FROM "{entity.name}"').fetchone()[0] or 0
    found: set[int] = set()
    for _ in range(k * 4):
        if len(found) >= k or top == 0:
            break
        row = conn.execute(
            f'SELECT id FROM "{entity.name}" WHERE id >= ? ORDER BY id LIMIT 1', (rng.randint(1, top),)
        ).fetchone()
        if row:
            found.add(row[0])
    return sorted(found)


def burst(
    state: State,
    entity: str = "inventory",
    inserts: int = 5,
    updates: int = 20,
    deletes: int = 2,
    backdate_s: float = 0.0,
    drift_s: float = 0.0,
    ids: list[int] | None = None,
) -> dict[str, Any]:
    """One burst of activity on one entity; returns the ids touched and the shared mod_ts.

    `ids` names the rows to update (instead of `updates` rows drawn at random).
    """
    target = base_entity(entity)
    counts = data.counts_for(state.config.scale)
    has_mod = target.has_mod_ts
    for name, value in (("backdate_s", backdate_s), ("drift_s", drift_s)):
        if value < 0 or (value and not has_mod):
            raise ValueError(f"{name} must be >= 0 and needs an entity with mod_ts ({entity})")
    if ids is not None and not (isinstance(ids, list) and all(type(i) is int for i in ids)):
        raise ValueError("ids must be a list of integer row ids")
    with state.lock:
        conn = state.conn
        state.bursts += 1
        rng = random.Random(state.config.seed * 100003 + state.bursts)
        conn.execute("BEGIN")
        try:
            top = conn.execute(f'SELECT max(id) FROM "{target.name}"').fetchone()[0] or 0
            inserted: list[int] = []
            if inserts > 0:
                now = state.now_us()
                data.insert_rows(conn, target, top + 1, top + inserts, counts, state.config.seed)
                sets = "create_ts = ?, create_user = 'ACTIVITY'"
                sets += ", mod_ts = ?, mod_user = 'ACTIVITY'" if has_mod else ""
                args = (now, now - round(backdate_s * 1_000_000)) if has_mod else (now,)
                conn.execute(f'UPDATE "{target.name}" SET {sets} WHERE id > ?', (*args, top))
                inserted = [
                    r[0]
                    for r in conn.execute(f'SELECT id FROM "{target.name}" WHERE id > ? ORDER BY id', (top,))
                ]
            if ids is not None:
                updated = existing_ids(state, target, ids) if has_mod else []
            else:
                updated = pick_ids(state, target, updates, rng) if has_mod and updates > 0 else []
            mod_ts = state.now_us() - round(drift_s * 1_000_000) if updated else None
            if updated:
                marks = ",".join("?" * len(updated))
                conn.execute(
                    f"UPDATE \"{target.name}\" SET mod_ts = ?, mod_user = 'ACTIVITY' WHERE id IN ({marks})",
                    (mod_ts, *updated),
                )
            deleted = pick_ids(state, target, deletes, rng) if deletes > 0 else []
            deleted = [i for i in deleted if i not in updated and i not in inserted]
            if deleted:
                marks = ",".join("?" * len(deleted))
                conn.execute(f'DELETE FROM "{target.name}" WHERE id IN ({marks})', deleted)
            touched = ",".join(str(i) for i in [*inserted, *updated])
            if touched:
                data.refresh_ts_text(conn, target, f"id IN ({touched})")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return {
        "entity": target.name,
        "inserted_ids": inserted,
        "updated_ids": updated,
        "deleted_ids": deleted,
        "mod_ts_us": mod_ts,
        "backdated_ids": inserted if backdate_s else [],
    }


def existing_ids(state: State, entity: Entity, ids: list[int]) -> list[int]:
    """Those of `ids` that are rows of the entity, sorted."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = state.conn.execute(f'SELECT id FROM "{entity.name}" WHERE id IN ({marks}) ORDER BY id', ids)
    return [row[0] for row in rows]


def start(
    state: State,
    interval_s: float = 0.05,
    entities: list[str] | None = None,
    inserts: int = 1,
    updates: int = 5,
    deletes: int = 0,
) -> None:
    """Run bursts continuously in a daemon thread until stop()."""
    stop(state)
    names = list(entities or CORE)
    for name in names:
        base_entity(name)
    halt = threading.Event()
    totals = {"bursts": 0, "inserted": 0, "updated": 0, "deleted": 0}

    def run() -> None:
        while not halt.is_set():
            for name in names:
                out = burst(state, name, inserts, updates, deletes)
                totals["bursts"] += 1
                for key in ("inserted", "updated", "deleted"):
                    totals[key] += len(out[f"{key}_ids"])
            halt.wait(interval_s)

    thread = threading.Thread(target=run, name="wms-sandbox-activity", daemon=True)
    state.runner = (thread, halt, totals)
    thread.start()


def stop(state: State) -> dict[str, int]:
    """Stop the continuous simulator; returns its totals."""
    runner, state.runner = state.runner, None
    if runner is None:
        return {}
    thread, halt, totals = runner
    halt.set()
    thread.join(timeout=10)
    return dict(totals)
