"""The audit log as its users meet it: every change is an entry, entries become leaves of a
Merkle tree with signed checkpoints, and anyone can check proofs against them."""

from __future__ import annotations

import base64
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from tests.factories import resource_input
from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import ResourceIn
from zhihui.cli import app as cli_app
from zhihui.core import audit
from zhihui.core.audit import api as audit_api
from zhihui.core.audit import merkle, service
from zhihui.core.audit.models import AuditEntry, AuditNode
from zhihui.core.audit.note import Signer, Verifier, load_key, open_checkpoint, parse_checkpoint
from zhihui.core.authz import ANONYMOUS, SYSTEM, Actor

runner = CliRunner()


def b64d(s: str) -> bytes:
    return base64.b64decode(s)


@pytest.fixture
def key(settings):  # type: ignore[no-untyped-def]
    return service.log_key(settings)


def integrate(db, key):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return service.integrate(s, key)


def add_resources(db, city, n: int) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        for i in range(n):
            catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
                city.orgs["hbj"], title=f"空气质量日报 第{i}期")))


def checkpoint(client) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/audit/checkpoint")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    vkey = Verifier.parse(client.get("/api/v1/audit/public-key").text)
    return r.text, open_checkpoint(r.text, vkey)


def test_every_change_becomes_a_leaf_under_a_signed_checkpoint(city, db, key, client):
    with db.session() as s:
        waiting = service.pending(s)
    assert waiting > 10  # organisations, users, memberships, tokens, resources
    integrate(db, key)
    note, cp = checkpoint(client)
    assert cp.size == waiting
    origin, size, root, *_ = note.split("\n")
    assert origin == "127.0.0.1:8000/audit" and int(size) == waiting
    assert note.split("\n")[3] == "" and note.split("\n")[4].startswith("\u2014 " + origin + " ")
    # An outside verifier hashes the leaves itself and gets the signed root.
    got = client.get(f"/api/v1/audit/entries?start=0&end={waiting}",
                     headers=city.headers("sysadmin")).json()["entries"]
    assert [e["index"] for e in got] == list(range(waiting))
    for e in got:
        assert merkle.leaf_hash(b64d(e["leaf"])) == b64d(e["leaf_hash"])
        assert e["action"] and e["time"].endswith("Z")
    assert merkle.root_of(b64d(e["leaf"]) for e in got) == cp.root == b64d(root)


def test_a_second_run_with_nothing_new_signs_nothing_new(city, db, key):
    first = integrate(db, key)
    again = integrate(db, key)
    assert again.id == first.id


def test_the_public_key_is_in_signed_note_form_and_kept_private(settings, client):
    vkey = client.get("/api/v1/audit/public-key").text.strip()
    name, key_id, raw = vkey.split("+", 2)
    assert name == "127.0.0.1:8000/audit" and len(key_id) == 8 and b64d(raw)[0] == 1
    assert (settings.home / "audit_ed25519.pem").stat().st_mode & 0o777 == 0o600


def test_proofs_from_the_api_check_against_the_checkpoints(city, db, key, client):
    integrate(db, key)
    _, old = checkpoint(client)
    add_resources(db, city, 5)
    integrate(db, key)
    _, new = checkpoint(client)
    assert new.size == old.size + 5
    for index in (0, old.size - 1, old.size, new.size - 1):
        p = client.get(f"/api/v1/audit/proof/inclusion?index={index}&tree_size={new.size}")
        assert p.status_code == 200
        body = p.json()
        assert set(body) == {"index", "tree_size", "leaf_hash", "proof"}
        assert merkle.verify_inclusion(index, new.size, b64d(body["leaf_hash"]),
                                       [b64d(x) for x in body["proof"]], new.root)
    c = client.get(f"/api/v1/audit/proof/consistency?first={old.size}&second={new.size}").json()
    assert set(c) == {"first", "second", "proof"}
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root,
                                     [b64d(x) for x in c["proof"]])


def test_who_sees_what(city, db, key, client):
    integrate(db, key)
    size = client.get("/api/v1/audit/entries?start=0&end=1000",
                      headers=city.headers("sysadmin")).json()["entries"]
    about = {e["index"]: e["org_id"] for e in size}
    # Anonymous: the leaf hashes only, enough to rebuild the tree.
    anon = client.get("/api/v1/audit/entries?start=0&end=1000").json()["entries"]
    assert all(set(e) == {"index", "leaf_hash", "redacted"} for e in anon)
    # A member of the transport bureau: its own entries in full, others' hashes only.
    member = client.get("/api/v1/audit/entries?start=0&end=1000",
                        headers=city.headers("member")).json()["entries"]
    jtj = city.orgs["jtj"]
    for e in member:
        if about[e["index"]] == jtj:
            assert e["org_id"] == jtj and "leaf" in e
        elif e.get("actor_id") != city.users["member"]:
            assert e.get("redacted") is True
    assert any(e.get("org_id") == jtj for e in member)
    # An auditor sees everything.
    with db.session() as s:
        from zhihui.core.accounts import service as accounts

        user = accounts.create_user(s, SYSTEM, name="shenji", password="correct-horse-battery",
                                    auditor=True)
        _, secret = accounts.create_token(s, SYSTEM, user=user, name="t")
    auditor = client.get("/api/v1/audit/entries?start=0&end=1000",
                         headers={"Authorization": secret}).json()["entries"]
    assert all("leaf" in e for e in auditor)


@pytest.mark.parametrize("url,lang,words", [
    ("/api/v1/audit/proof/inclusion?index=-1&tree_size=3", "zh", "叶子序号"),
    ("/api/v1/audit/proof/inclusion?index=3&tree_size=3", "en", "leaf index 3"),
    ("/api/v1/audit/proof/inclusion?index=0&tree_size=0", "en", "not zero"),
    ("/api/v1/audit/proof/inclusion?index=0&tree_size=99999999999999999999", "en",
     "larger than the log"),
    ("/api/v1/audit/proof/consistency?first=0&second=3", "zh", "不能为 0"),
    ("/api/v1/audit/proof/consistency?first=3&second=2", "en", "must not be larger"),
    ("/api/v1/audit/proof/consistency?first=1&second=100000", "en", "larger than the log"),
    ("/api/v1/audit/entries?start=100000", "en", "out of range"),
    ("/api/v1/audit/entries?start=-5", "zh", "超出范围"),
    ("/api/v1/audit/entries?start=2&end=1", "en", "greater than start"),
])
def test_bad_sizes_get_400_with_a_reason_never_a_proof(city, db, key, client, url, lang, words):
    integrate(db, key)
    r = client.get(url + f"&lang={lang}")
    assert r.status_code == 400
    assert words in r.json()["error"]["message"]
    assert "proof" not in r.json()


def test_equal_sizes_have_an_empty_consistency_proof(city, db, key, client):
    integrate(db, key)
    assert client.get("/api/v1/audit/proof/consistency?first=3&second=3").json()["proof"] == []


def test_on_demand_checkpoints_are_for_auditors_and_the_operator(city, client):
    assert client.post("/api/v1/audit/checkpoint").status_code == 401
    assert client.post("/api/v1/audit/checkpoint",
                       headers=city.headers("editor")).status_code == 403
    r = client.post("/api/v1/audit/checkpoint", headers=city.headers("sysadmin"))
    assert r.status_code == 200
    # the operator's token creation itself is not in it yet; everything before is
    assert int(r.text.split("\n")[1]) > 10


def test_entries_committed_out_of_order_are_integrated_later(city, db, key):
    """PostgreSQL may commit id 7 after id 9: the sequencer takes what is committed and not
    yet integrated, in id order, so a late entry gets the next leaf, never a lost one."""
    integrate(db, key)
    with db.session() as s:
        top = s.scalar(select(func.max(AuditEntry.id)))
        audit.record(s, SYSTEM, "resource.update", "resource", "late-1")
    integrate(db, key)
    with db.session() as s:
        late = AuditEntry(id=top + 1000, actor_name="x", action="resource.update",
                          target_type="resource", target_id="late-3", detail={})
        s.add(late)
    with db.session() as s:
        s.add(AuditEntry(id=top + 500, actor_name="x", action="resource.update",
                         target_type="resource", target_id="late-2", detail={}))
    cp = integrate(db, key)
    with db.session() as s:
        order = s.execute(select(AuditEntry.target_id).where(
            AuditEntry.target_id.like("late-%")).order_by(AuditEntry.leaf_index)).scalars()
        assert list(order) == ["late-1", "late-2", "late-3"]
        assert service.pending(s) == 0
        assert service.verify_log(s, key).ok
        assert cp.tree_size == service.tree_size(s)


def test_anonymous_reads_are_tallied_per_client_and_minute(city, db, key):
    reader = Actor(client="203.0.113.7")
    with db.session() as s:
        for _ in range(3):
            audit.record_read(s, reader, "distribution", "d-1", org_id=city.orgs["jtj"],
                              rows=10, size=2048)
        audit.record_read(s, Actor(client="198.51.100.1"), "distribution", "d-1", rows=1)
    with db.session() as s:
        tallies = s.scalars(select(AuditEntry).where(AuditEntry.action == "data.read")
                            .order_by(AuditEntry.id)).all()
        assert [(t.client, t.detail["count"], t.detail["rows"]) for t in tallies] == [
            ("203.0.113.7", 3, 30, ), ("198.51.100.1", 1, 1)]
        assert tallies[0].detail["bytes"] == 3 * 2048
    integrate(db, key)
    with db.session() as s:  # integrated tallies are closed: the next read starts a new one
        audit.record_read(s, reader, "distribution", "d-1", rows=5)
        audit.record_read(s, city.actors["editor"], "distribution", "d-1",
                          content=[{"a": 1}], rows=1)
    with db.session() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "data.read")
                          .order_by(AuditEntry.id)).all()
        assert len(reads) == 4 and reads[2].detail["count"] == 1
        assert reads[3].actor_name == "editor" and reads[3].digest == audit.digest([{"a": 1}])
    integrate(db, key)
    with db.session() as s:
        assert service.verify_log(s, key).ok


def test_the_sequencer_runs_beside_the_app(app, city, db):
    audit_api.run_sequencer(app, interval=0.05)
    with TestClient(app):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with db.session() as s:
                if service.pending(s) == 0 and service.tree_size(s) > 0:
                    break
            time.sleep(0.05)
    with db.session() as s:
        assert service.pending(s) == 0 and service.tree_size(s) > 10


# --- zhihui audit verify ----------------------------------------------------------------------


@pytest.fixture
def env(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    return settings


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(cli_app, list(args), catch_exceptions=False)


def test_verify_passes_on_an_untouched_log(env, city):
    assert run("audit", "checkpoint").exit_code == 0
    add_resources(city.db, city, 3)
    assert run("audit", "checkpoint").exit_code == 0
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "日志完整" in result.output and "2 checkpoints" in result.output


def test_verify_names_an_entry_edited_in_the_database(env, city, db):
    run("audit", "checkpoint")
    with db.session() as s:
        victim = s.scalar(select(AuditEntry).where(AuditEntry.action == "resource.new")
                          .order_by(AuditEntry.id).limit(1))
        victim_id, index = victim.id, victim.leaf_index
    with db.engine.begin() as conn:  # someone with database access rewrites history
        conn.execute(text("UPDATE audit_entry SET actor_name = 'nobody' WHERE id = :id"),
                     {"id": victim_id})
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert f"entry {victim_id} (index {index})" in result.output
    assert f"index {index}, entry id {victim_id}" in result.output


def test_verify_notices_rewritten_subtree_hashes(env, city, db):
    run("audit", "checkpoint")
    with db.session() as s:
        s.execute(update(AuditNode).where(AuditNode.level == 1, AuditNode.idx == 0)
                  .values(hash=b"\x00" * 32))
    result = run("audit", "verify")
    assert result.exit_code == 1 and "level 1, index 0" in result.output


def test_a_saved_checkpoint_is_checked_against_todays_log(env, city, db, tmp_path):
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(run("audit", "checkpoint").output, encoding="utf-8")
    add_resources(db, city, 4)
    run("audit", "checkpoint")
    result = run("audit", "verify", "--checkpoint", str(saved))
    assert result.exit_code == 0, result.output
    assert "consistent with today's log" in result.output


def test_a_checkpoint_from_another_log_is_called_so(env, city, tmp_path):
    run("audit", "checkpoint")
    other = Signer("example.org/audit", load_key(tmp_path / "elsewhere"))
    note = other.sign(f"example.org/audit\n3\n{base64.b64encode(b'1' * 32).decode()}\n")
    (tmp_path / "foreign.txt").write_text(note, encoding="utf-8")
    result = run("audit", "verify", "--checkpoint", str(tmp_path / "foreign.txt"))
    assert result.exit_code == 1 and "another log" in result.output


def test_a_checkpoint_of_a_rewritten_log_is_inconsistent(env, city, db, tmp_path):
    """The operator changes an entry, rebuilds the whole tree and signs it again: every
    stored hash agrees with the entries, but a checkpoint a citizen saved before does not."""
    saved = tmp_path / "citizen.txt"
    saved.write_text(run("audit", "checkpoint").output, encoding="utf-8")
    cp, _, _ = parse_checkpoint(saved.read_text(encoding="utf-8"))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor_name = 'nobody' WHERE leaf_index = 1"))
        conn.execute(text("UPDATE audit_entry SET leaf_index = NULL"))
        for table in ("audit_node", "audit_checkpoint", "audit_log_state"):
            conn.execute(text(f"DELETE FROM {table}"))
    run("audit", "checkpoint")
    assert run("audit", "verify").exit_code == 0  # the rebuilt log is consistent with itself
    result = run("audit", "verify", "--checkpoint", str(saved))
    assert result.exit_code == 1 and f"size {cp.size}" in result.output
    assert "inconsistent" in result.output


def test_the_log_key_is_made_at_init(env):
    assert run("init").exit_code == 0
    assert (env.home / "audit_ed25519.pem").stat().st_mode & 0o777 == 0o600
    assert run("audit", "public-key").output.startswith("127.0.0.1:8000/audit+")


def test_the_portal_page_shows_the_checkpoint_and_an_org_who_read_its_data(city, db, client):
    with db.session() as s:
        audit.record_read(s, ANONYMOUS, "distribution", "dist-nine", org_id=city.orgs["jtj"],
                          rows=7)
    page = client.get("/audit")
    assert page.status_code == 200 and "审计日志" in page.text and "— 127.0.0.1" in page.text
    assert "dist-nine" not in page.text  # the public sees the checkpoint, not who read what
    member = client.get("/audit?lang=en", headers=city.headers("member"))
    assert "Entries about your organisation" in member.text
    assert "dist-nine" in member.text and "7 rows" in member.text
    other = client.get("/audit", headers=city.headers("other_member"))
    assert "dist-nine" not in other.text
