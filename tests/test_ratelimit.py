"""Fixed-window limits in the database, shared by every process."""

import threading
from datetime import timedelta

from booking import ratelimit
from booking.db import Database
from booking.models import RateBucket
from tests.factories import NOW

WINDOW = timedelta(minutes=10)


def _hit(db, key="k", limit=3, now=NOW):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return ratelimit.hit(s, key=key, limit=limit, window=WINDOW, now=now)


def _exceeded(db, key="k", limit=3, now=NOW):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return ratelimit.exceeded(s, key=key, limit=limit, window=WINDOW, now=now)


def test_hits_within_the_limit_pass_and_the_next_window_starts_afresh(db):
    assert [_hit(db) for _ in range(4)] == [True, True, True, False]
    assert _exceeded(db) and not _exceeded(db, key="other")
    later = NOW + WINDOW
    assert not _exceeded(db, now=later)
    assert _hit(db, now=later) and not _exceeded(db, now=later)
    with db.session() as s:
        assert s.get(RateBucket, "k").count == 1
        assert ratelimit.retry_after(s, key="k", window=WINDOW, now=later) == WINDOW


def test_is_blocked_checks_several_keys(db):
    for _ in range(2):
        _hit(db, key="login:address:1.2.3.4", limit=20)
    _hit(db, key="login:account:ada", limit=2)
    _hit(db, key="login:account:ada", limit=2)
    with db.session() as s:
        keys = [("login:account:ada", 2), ("login:address:1.2.3.4", 20)]
        assert ratelimit.is_blocked(s, keys=keys, window=WINDOW, now=NOW)
        assert not ratelimit.is_blocked(s, keys=keys[1:], window=WINDOW, now=NOW)


def test_hits_from_many_processes_at_once_are_all_counted(db, database_url):
    engines = [Database(database_url) for _ in range(4)]
    start = threading.Barrier(len(engines))

    def hammer(engine: Database) -> None:
        start.wait()
        for _ in range(10):
            with engine.write_session() as s:
                ratelimit.hit(s, key="shared", limit=1000, window=WINDOW, now=NOW)

    threads = [threading.Thread(target=hammer, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for engine in engines:
        engine.dispose()
    with db.session() as s:
        assert s.get(RateBucket, "shared").count == 40


def test_take_gives_no_more_slots_than_the_limit_to_many_processes_at_once(db, database_url):
    engines = [Database(database_url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    taken: list[bool] = []

    def race(engine: Database) -> None:
        start.wait()
        for _ in range(10):
            with engine.write_session() as s, s.begin():
                taken.append(ratelimit.take(s, key="slots", limit=7, window=WINDOW, now=NOW))

    threads = [threading.Thread(target=race, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for engine in engines:
        engine.dispose()
    assert taken.count(True) == 7 and len(taken) == 40
    with db.session() as s:
        assert s.get(RateBucket, "slots").count == 7
    with db.write_session() as s, s.begin():
        ratelimit.give_back(s, key="slots")
    with db.session() as s:
        assert s.get(RateBucket, "slots").count == 6
    with db.write_session() as s, s.begin():  # a new window starts afresh
        assert ratelimit.take(s, key="slots", limit=7, window=WINDOW, now=NOW + WINDOW)
    with db.session() as s:
        assert s.get(RateBucket, "slots").count == 1
