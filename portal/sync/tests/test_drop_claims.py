"""Drop files are claimed, not peeked at (issue 30): a file is taken only when complete,
renamed into processing/ before it is read, and only what was read is archived."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.sync.tests.test_connectors import collect, csv_connector, drop, ids

__all__ = ["drop"]  # the drop-folder fixture, shared

ORDERS = "id,price\n" + "".join(f"{i},{i}00.87\n" for i in range(1, 8))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def test_a_file_replaced_by_an_atomic_rename_during_a_run_is_read_not_archived_unread(drop):
    (drop / "orders.csv").write_text("id\n1\n2\n3\n")
    connector = csv_connector(drop, batch_size=2)
    batches = connector.fetch(None, started_at=None)
    first = next(batches)
    # The sender drops the next export under the same name, atomically, mid-run.
    (drop / "orders.csv.part").write_text("id\n10\n11\n")
    os.replace(drop / "orders.csv.part", drop / "orders.csv")
    rest = list(batches)
    connector.finish(succeeded=True)

    assert ids([first, *rest]) == ["1", "2", "3"]
    assert (drop / "archive" / "orders.csv").read_text() == "id\n1\n2\n3\n"  # what was read
    assert (drop / "orders.csv").read_text() == "id\n10\n11\n"  # waits for the next run

    landed = collect(csv_connector(drop))
    assert ids(landed) == ["10", "11"]


def test_a_file_whose_last_line_has_no_line_ending_is_held_until_it_has_one(drop):
    path = drop / "orders.csv"
    path.write_text("id,price\n1,100.87\n2,70")  # the writer is half-way through a row
    connector = csv_connector(drop)

    assert collect(connector) == []
    connector.finish(succeeded=True)
    assert files(drop) == ["orders.csv"]  # neither claimed nor archived
    assert connector.held == ["orders.csv (its last line has no line ending yet)"]

    with path.open("a") as out:
        out.write("0.87\n")
    [batch] = collect(csv_connector(drop))
    assert batch.records == [{"id": "1", "price": "100.87"}, {"id": "2", "price": "700.87"}]


@hypothesis_settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=1, max_value=len(ORDERS) - 1))
def test_a_cut_file_never_lands_a_cut_row(tmp_path_factory, cut):
    """Whatever byte a writer stopped at, what lands is whole rows of the file, never a
    row with a shortened value."""
    drop = tmp_path_factory.mktemp("drop")
    (drop / "orders.csv").write_bytes(ORDERS.encode()[:cut])
    whole = {tuple(line.split(",")) for line in ORDERS.splitlines()[1:]}
    landed = collect(csv_connector(drop))
    rows = {(r["id"], r["price"]) for batch in landed for r in batch.records}
    assert rows <= whole


def test_a_file_still_being_written_is_not_read_half_and_lands_whole_once_settled(drop):
    path = drop / "orders.csv"
    path.write_text("id,price\n")
    stop = threading.Event()

    def slow_writer():  # whole lines, a pause between: a file that looks complete each time
        with path.open("a") as out:
            for i in range(1, 16):
                out.write(f"{i},{i}00.87\n")
                out.flush()
                if stop.wait(0.1):
                    return

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        connector = csv_connector(drop, settle_seconds=0.5)
        assert collect(connector) == []
        connector.finish(succeeded=True)
        assert connector.held == ["orders.csv (still being written)"]
        assert files(drop) == ["orders.csv"]
    finally:
        writer.join()

    time.sleep(0.6)
    connector = csv_connector(drop, settle_seconds=0.5)
    landed = collect(connector)
    connector.finish(succeeded=True)
    assert ids(landed) == [str(i) for i in range(1, 16)]
    assert files(drop / "archive") == ["orders.csv"]


def test_a_file_that_changes_while_it_is_read_is_read_again(drop):
    """A writer that still holds the file open (claimed under it) appends mid-read:
    the file is read again, and only its final content counts as read."""
    path = drop / "orders.csv"
    path.write_text("id\n1\n2\n3\n")
    connector = csv_connector(drop, batch_size=2)
    batches = connector.fetch(None, started_at=None)
    first = next(batches)
    with (drop / "processing" / "orders.csv").open("a") as out:  # the open handle follows
        out.write("4\n")
    rest = list(batches)
    connector.finish(succeeded=True)

    read = ids([first, *rest])
    assert read[-4:] == ["1", "2", "3", "4"]  # the whole file, read again from its start
    assert len(read) > 4
    final = (drop / "archive" / "orders.csv").read_bytes()
    assert final == b"id\n1\n2\n3\n4\n"
    assert rest[-1].completed_file == sha256(final)


def test_a_marker_convention_takes_a_file_only_with_its_marker_and_archives_both(drop):
    (drop / "orders.csv").write_text("id\n1\n")
    connector = csv_connector(drop, ready_marker=".done", settle_seconds=3600)
    assert collect(connector) == []
    assert connector.held == ["orders.csv (waiting for its marker orders.csv.done)"]

    (drop / "orders.csv.done").touch()
    connector = csv_connector(drop, ready_marker=".done", settle_seconds=3600)
    assert ids(collect(connector)) == ["1"]  # no settle wait: the marker says it is complete
    connector.finish(succeeded=True)
    assert files(drop / "archive") == ["orders.csv", "orders.csv.done"]
    assert files(drop) == []


@pytest.mark.parametrize("name", ["orders.csv.part", "orders.csv.tmp", "orders.csv.partial"])
def test_names_writers_use_while_writing_are_never_taken(drop, name):
    (drop / name).write_text("id\n1\n")
    assert collect(csv_connector(drop, pattern="*")) == []


def test_files_claimed_by_a_failed_run_are_read_first_by_the_next(drop):
    (drop / "a.csv").write_text("id\n1\n")
    failed = csv_connector(drop)
    collect(failed)
    failed.finish(succeeded=False)
    (drop / "a.csv").write_text("id\n2\n")  # a new file of the same name meanwhile

    connector = csv_connector(drop)
    landed = collect(connector)
    connector.finish(succeeded=True)

    assert ids(landed) == ["1", "2"]
    assert files(drop / "processing") == []
    assert len(files(drop / "archive")) == 2


def test_testing_a_drop_source_moves_no_file_and_waits_for_none(db, drop, settings):
    from portal.sync.models import SourceSystem
    from portal.sync.preview import source_preview
    from portal.sync.tests.legacy import order_fields

    settings.SYNC_DROP_SETTLE_SECONDS = 3600  # a run would wait for this file
    (drop / "orders.csv").write_text(
        "id,cust,cust_name,no,status,placed,total\n"
        "1,OE-1,Customer OE-1,SO-1,open,2025-06-02T08:00:00+00:00,700.87\n"
    )
    source = SourceSystem.objects.create(
        name="Drop", system="drop", department="sales", kind="csv", entity="orders",
        config={"path": str(drop), "fields": order_fields()},
    )  # fmt: skip
    started = time.monotonic()

    preview = source_preview(source=source)

    assert time.monotonic() - started < 5
    assert [row.values["external_id"] for row in preview.rows] == ["1"]
    assert files(drop) == ["orders.csv"]
    assert not (drop / "processing").exists()
