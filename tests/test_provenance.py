"""The sidecar beside a results table: command, commit, date, machine; one entry per command on update."""

from __future__ import annotations

import json
import os
from datetime import datetime

import pandas as pd

from hepxai.provenance import sidecar_path, write_provenance


def test_the_sidecar_records_command_code_date_and_machine(tmp_path, monkeypatch):
    table = tmp_path / "speed.csv"
    pd.DataFrame({"a": [1.0]}).to_csv(table, index=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)  # Dask sets it in a process that started workers
    path = write_provenance(table, command=["python", "bench/x.py", "--csv", "a b.csv"])
    assert path == sidecar_path(table) == tmp_path / "speed.json"
    content = json.loads(path.read_text())
    assert content["file"] == "speed.csv"
    (entry,) = content["writes"]
    assert entry["command"] == "python bench/x.py --csv 'a b.csv'"  # quoted so it can be pasted back
    assert len(entry["commit"]) == 40  # the tests run from the repository
    assert isinstance(entry["uncommitted_changes"], bool)
    assert datetime.fromisoformat(entry["date"]).utcoffset().total_seconds() == 0
    assert entry["machine"]["cores"] == os.cpu_count()
    assert entry["machine"]["environment"] == {"OMP_NUM_THREADS": "1"}
    assert pd.read_csv(table).shape == (1, 1)  # the table itself is untouched: no comment lines
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # nothing partial left


def test_update_keeps_other_commands_and_replaces_the_same_one(tmp_path):
    table = tmp_path / "tracking.csv"
    write_provenance(table, command=["hepxai", "evaluate", "--graphs", "a"])
    write_provenance(table, command=["hepxai", "evaluate", "--graphs", "b"], update=True)
    write_provenance(table, command=["hepxai", "evaluate", "--graphs", "a"], update=True)
    commands = [entry["command"] for entry in json.loads(sidecar_path(table).read_text())["writes"]]
    assert commands == ["hepxai evaluate --graphs b", "hepxai evaluate --graphs a"]
    write_provenance(table, command=["hepxai", "other"])
    commands = [entry["command"] for entry in json.loads(sidecar_path(table).read_text())["writes"]]
    assert commands == ["hepxai other"]
