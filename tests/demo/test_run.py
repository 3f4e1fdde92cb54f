import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from mlgate.airflow.runner import cron_due as _cron_due
from mlgate.airflow.runner import format_timeline, timeline_json_lines
from tests.helpers import home_env


def test_the_monthly_train_cron_is_due_on_the_first_only():
    due = [
        d
        for d in (dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(90))
        if _cron_due("0 6 1 * *", d)
    ]
    assert due == [dt.date(2013, 1, 1), dt.date(2013, 2, 1), dt.date(2013, 3, 1)]


def test_the_timeline_table_has_one_row_per_event_and_aligned_columns():
    rows = [
        {
            "date": "2013-02-01",
            "event": "first champion (schedule)",
            "model_version": "v1",
            "metric": "eval AUC 0.6732",
            "reason": "AUC ok",
        },
        {
            "date": "2013-03-12",
            "event": "batch quarantined",
            "model_version": "v3",
            "metric": "",
            "reason": "column 'carrier': ...",
        },
    ]
    lines = format_timeline(rows).splitlines()
    assert lines[0].split() == ["date", "event", "model", "key", "metric", "reason"]
    assert len(lines) == 4 and lines[2].startswith("2013-02-01  first champion (schedule)  v1")
    assert lines[3].index("v3") == lines[2].index("v1")


def test_the_json_timeline_is_one_object_per_line_with_the_contract_keys():
    rows = [
        {"date": "2013-02-01", "event": "e", "model_version": "v1", "metric": "", "reason": "r"},
        {"date": "2013-02-02", "event": "f", "model_version": "-", "metric": "m", "reason": ""},
    ]
    lines = timeline_json_lines(rows).splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert list(json.loads(lines[0])) == ["date", "event", "model_version", "metric", "reason"]


def test_mlgate_demo_never_deletes_a_home_it_did_not_make(tmp_path):
    """A user's file in MLGATE_HOME survives `mlgate demo` (exit 2, and the message says
    what to do); nothing is written there."""
    home = tmp_path / "mine"
    home.mkdir()
    (home / "thesis.tex").write_text("three years of work")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlgate.cli",
            "demo",
            "--start",
            "2013-01-01",
            "--end",
            "2013-01-02",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **home_env(home)},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "was not made by `mlgate demo`" in result.stderr and "--keep" in result.stderr
    assert (home / "thesis.tex").read_text() == "three years of work"
    assert sorted(p.name for p in home.iterdir()) == ["thesis.tex"]


def test_the_demo_empties_only_a_home_it_made(tmp_path):
    from mlgate.config.settings import load_settings
    from mlgate.demo.run import DEMO_MARKER, DemoError, prepare_home

    settings = load_settings(home_env(tmp_path / "demo"))
    prepare_home(settings, fresh=True)  # a new folder: made and marked
    assert (settings.home / DEMO_MARKER).is_file()
    (settings.home / "lake").mkdir()
    (settings.home / "notes.txt").write_text("mine")
    prepare_home(settings, fresh=True)  # marked: emptied, marked again
    assert sorted(p.name for p in settings.home.iterdir()) == [DEMO_MARKER]
    (settings.home / DEMO_MARKER).unlink()
    (settings.home / "notes.txt").write_text("mine")
    with pytest.raises(DemoError):
        prepare_home(settings, fresh=True)
    prepare_home(settings, fresh=False)  # --keep: nothing deleted
    assert (settings.home / "notes.txt").read_text() == "mine"


def test_a_home_from_a_demo_before_the_marker_is_still_the_demos(tmp_path):
    from mlgate.demo.run import is_demo_home

    for name in ("lake", "airflow", "mlartifacts"):
        (tmp_path / name).mkdir()
    (tmp_path / "mlflow.db").write_bytes(b"")
    (tmp_path / "demo.log").write_text("")
    assert is_demo_home(tmp_path)
    (tmp_path / "other").mkdir()
    assert not is_demo_home(tmp_path)


# ---- the demo as a user sees it in the Airflow UI: real runs through the Runner ----------

FIRST, LAST = "2013-01-01", "2013-01-24"  # ingested as the ingest DAG would (library calls)
PLAYED = "2013-01-25"  # broken, quarantined, re-delivered and re-run; then the gray zone


@pytest.fixture(scope="module")
def played(airflow_db, module_settings, tmp_path_factory):
    """A Runner on real days: the demo's incident on PLAYED (its ingest run fails at the
    gate, the upstream re-delivers, the day is re-run), then the first model, whose AUC
    interval straddles the spec's first-model minimum, left waiting in Required Actions as
    the demo leaves its last gray-zone candidate."""
    import yaml
    from airflow.dag_processing.dagbag import DagBag

    from mlgate.airflow.local import DAGS_FOLDER
    from mlgate.airflow.runner import Runner
    from mlgate.config.spec import load_spec
    from mlgate.demo import simulator
    from mlgate.demo.run import _incident, leave_gray_zone_waiting
    from mlgate.lake.store import Lake
    from mlgate.promote.evaluate import evaluate_candidate
    from mlgate.train.candidate import train_candidate
    from tests.helpers import ingest_real_days, run_info

    settings = module_settings
    lake, spec = Lake.from_uri(settings.lake_uri), load_spec("flights")
    ingest_real_days(lake, spec, FIRST, LAST)
    # the same data trains the same model: its interval tells where the gray zone is
    probe = train_candidate(lake, settings, spec, PLAYED, run_info("probe"), "test")
    auc = evaluate_candidate(
        lake, settings, spec, probe["version"], probe["window"], log=False
    ).metrics["candidate"]
    specs = tmp_path_factory.mktemp("specs")
    for path in settings.specs_dir.glob("*.yaml"):
        (specs / path.name).write_text(path.read_text())
    raw = spec.raw | {
        "evaluation": {
            **spec.raw["evaluation"],
            "first_model": {"min_auc": round(float(auc["auc_low"] + auc["auc_high"]) / 2, 6)},
        }
    }
    (specs / "flights.yaml").write_text(yaml.safe_dump(raw))
    log_path = settings.home / "run.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLGATE_SPECS_DIR", str(specs))
        gray = load_spec("flights")
        bag = DagBag(str(DAGS_FOLDER))
        dags = {kind: bag.dags[f"mlgate_{spec.model}_{kind}"] for kind in ("ingest", "train")}
        began = dt.datetime.now(dt.timezone.utc)
        runner = Runner(settings, gray, dags, log_path)
        simulator.deliver_outcomes(lake, LAST)
        runner.play_day(PLAYED, _incident)
        runner.note(PLAYED, "gray zone, unattended: left to live evidence (schedule)", "v1", "", "")
        waiting = leave_gray_zone_waiting(runner)
        ended = dt.datetime.now(dt.timezone.utc)
    yield {"runner": runner, "waiting": waiting, "began": began, "ended": ended}
    _forget_runs(runner.dags["train"].dag_id, began)  # the session's DB: nothing left waiting


def _runs(dag_id: str, since) -> list:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_after >= since)
        runs = sorted(runs, key=lambda run: run.run_after)
        session.expunge_all()
        return runs


def _forget_runs(dag_id: str, since) -> None:
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        for run in session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_after >= since):
            session.delete(run)
        session.query(DagModel).filter(DagModel.dag_id == dag_id).update({"is_paused": True})


def _task_state(run, task_id: str) -> str:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        return str(
            session.query(TaskInstance.state)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id)
            .scalar()
        )


def _task_log(run, task_id: str) -> str:
    """What the Airflow UI shows as the log of a task of `run` (its last try)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id)
            .one()
        )
        lines, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})
        return "\n".join(str(line) for line in lines)


@pytest.mark.slow
def test_a_quarantined_days_failed_run_stays_beside_its_re_run(played):
    runs = _runs("mlgate_flights_late_ingest", played["began"])
    assert [str(r.state) for r in runs] == ["failed", "success"], runs
    failed, rerun = runs
    assert failed.run_id != rerun.run_id
    # both named after the day, so that an operator finds them in the UI's list of runs
    assert failed.run_id.startswith(f"mlgate__{PLAYED}__"), failed.run_id
    assert rerun.run_id.startswith(f"mlgate__{PLAYED}__"), rerun.run_id
    assert failed.logical_date.date().isoformat() == PLAYED  # New York midnight, in UTC
    assert rerun.logical_date is None and rerun.conf == {"ds": PLAYED}
    assert _task_state(failed, "validate") == "failed"  # the re-run cleared none of its tasks
    assert _task_state(rerun, "validate") == "success"
    assert [r["event"] for r in played["runner"].timeline[:2]] == [
        "batch quarantined",
        "re-delivered, re-run",
    ]


@pytest.mark.slow
def test_every_task_log_is_where_the_airflow_ui_reads_it(played):
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    failed, rerun = _runs("mlgate_flights_late_ingest", played["began"])
    for run in (failed, rerun, *_runs("mlgate_flights_late_train", played["began"])):
        with create_session() as session:
            tasks = session.query(TaskInstance).filter_by(dag_id=run.dag_id, run_id=run.run_id)
            ran = [ti.task_id for ti in tasks if ti.try_number > 0]
        assert ran, run
        for task_id in ran:
            assert "Log file not found" not in _task_log(run, task_id), (run.run_id, task_id)
    refused = _task_log(failed, "validate")
    assert "rejected by the gate" in refused and "column 'carrier'" in refused
    assert "Task failed with exception" in refused
    assert f"{PLAYED}: passed the gate" in _task_log(rerun, "validate")  # its stdout
    assert "[DAG TEST]" not in refused  # dag.test()'s own loop is not the task's log


@pytest.mark.slow
def test_runs_start_and_end_when_they_ran_not_on_their_2013_day(played):
    runs = [
        *_runs("mlgate_flights_late_ingest", played["began"]),
        *_runs("mlgate_flights_late_train", played["began"]),
    ]
    assert len(runs) == 3
    for run in runs:
        assert played["began"] <= run.start_date <= played["ended"], run
        if run.end_date is not None:  # the run left waiting has not ended
            assert run.start_date <= run.end_date <= played["ended"], run
        assert run.triggering_user_name == "mlgate"
    assert runs[0].data_interval_start.year == 2013


@pytest.mark.slow
def test_the_last_gray_zone_candidate_waits_in_required_actions(played):
    from airflow.models.dag import DagModel
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    (train,) = _runs("mlgate_flights_late_train", played["began"])
    assert str(train.state) == "running" and train.conf["ds"] == PLAYED
    assert train.conf["gray_zone"] == "ask"
    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=train.dag_id, run_id=train.run_id, task_id="approve")
            .one()
        )
        assert str(ti.state) == "awaiting_input"
        detail = session.query(HITLDetail).filter_by(ti_id=ti.id).one()
        assert detail.response_received is False
        assert detail.subject == "Promote flights_late v1? (gray zone)"
        assert "straddles the first-model minimum" in detail.body
        assert "[promotion card](/mlgate/models/flights_late/versions/1/card)" in detail.body
        assert detail.defaults == ["Reject"]
        paused = session.query(DagModel.is_paused).filter_by(dag_id=train.dag_id).scalar()
    assert paused is False  # the scheduler of `make up` finishes the run once answered
    waiting = played["waiting"]
    assert waiting["event"] == "gray zone: waiting in Required Actions"
    assert waiting["model_version"] == "v1" and train.run_id in waiting["reason"]
    assert played["runner"].champion() is None


@pytest.mark.slow
def test_approving_the_waiting_candidate_in_make_up_s_airflow_ui_promotes_it(
    played, browser, module_settings, tmp_path
):
    """What `make up` shows after the demo, in a real browser: Required Actions lists the
    waiting candidate; a person opens its card, reads the decision and clicks Approve; the
    scheduler of `mlgate up` resumes the run (`approve` -> `promote`) and the version becomes
    the champion, tagged with who approved it. Stopping `mlgate up` stops every process it
    started. (Runs last: the tests above read the run while it waits.)"""
    import signal

    import psutil

    from mlgate import tracking
    from mlgate.airflow.local import UI_USER
    from mlgate.promote import registry
    from tests.helpers import MLGATE, free_port, logged_in_page, wait_http

    (train,) = _runs("mlgate_flights_late_train", played["began"])
    port, log = free_port(), tmp_path / "up.log"
    with open(log, "w") as out:
        up = subprocess.Popen(
            [MLGATE, "up", "--airflow-port", str(port), "--mlflow-port", str(free_port())],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base, started = f"http://localhost:{port}", []
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots of the approval: {shots}")
    try:
        wait_http(f"{base}/api/v2/monitor/health", up, log, seconds=300)
        started = psutil.Process(up.pid).children(recursive=True)
        page = logged_in_page(browser, base)
        page.goto(f"{base}/required_actions?response_received=false", wait_until="networkidle")
        page.get_by_text("Promote flights_late v1? (gray zone)").first.click()
        page.get_by_text("straddles the first-model minimum").first.wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "1-the-card-in-required-actions.png"), full_page=True)
        whole_card = page.get_by_role("link", name="promotion card").get_attribute("href")
        assert whole_card == "/mlgate/models/flights_late/versions/1/card"
        answer = page.context.request.get(f"{base}{whole_card}")  # with the user's login
        assert answer.ok and "straddles the first-model minimum" in answer.text()
        page.get_by_role("button", name="Approve", exact=True).click()
        page.get_by_text(f"from {UI_USER}").first.wait_for(timeout=60_000)  # response received
        state = _wait_until_ended(train, seconds=300)
        page.goto(f"{base}/dags/{train.dag_id}/runs/{train.run_id}", wait_until="networkidle")
        page.screenshot(path=str(shots / "2-the-run-after-approval.png"), full_page=True)
        page.close()
    finally:
        up.send_signal(signal.SIGTERM)  # as Ctrl-C: mlgate up stops what it started
        up.wait(timeout=180)
    assert state == "success", log.read_text()[-4000:]
    assert _task_state(train, "promote") == "success"
    client = tracking.client(module_settings)
    champion = registry.alias_version(client, "flights_late", tracking.CHAMPION)
    assert champion is not None and str(champion.version) == "1"
    assert (
        champion.tags["mlgate.promoted_by"]
        == f"{train.dag_id}/{train.run_id} (approved by {UI_USER})"
    )
    assert champion.tags["mlgate.promoted_because"].startswith(
        f"approved by {UI_USER} in the gray zone: "
    )
    assert started and not [p for p in started if p.is_running() and p.status() != "zombie"]


def _wait_until_ended(run, seconds: float) -> str:
    """The state of `run` once it is no longer running (or still "running" after `seconds`)."""
    import time

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    deadline = time.monotonic() + seconds
    while True:
        with create_session() as session:
            state = str(
                session.query(DagRun.state).filter_by(dag_id=run.dag_id, run_id=run.run_id).scalar()
            )
        if state != "running" or time.monotonic() > deadline:
            return state
        time.sleep(2)


def test_the_demo_goes_on_until_a_candidate_is_left_open_in_the_gray_zone():
    """The stopping rule of `mlgate demo` without --end: the last candidate event of the
    timeline is a gray zone that nothing settled since (evidence, or a newer candidate)."""
    from types import SimpleNamespace

    from mlgate.airflow.runner import GRAY_ZONE_LEFT, SETTLED, SUPERSEDED
    from mlgate.demo.run import open_gray_zone

    def timeline(*events):
        rows = [{"date": f"2013-06-{i + 10}", "event": e} for i, e in enumerate(events)]
        return SimpleNamespace(timeline=rows)

    gray = f"{GRAY_ZONE_LEFT} (retrain_request)"
    assert open_gray_zone(timeline()) is None
    assert open_gray_zone(timeline("promoted (schedule)")) is None
    assert open_gray_zone(timeline(gray, "retrain requested (monitor)"))["date"] == "2013-06-10"
    assert open_gray_zone(timeline(gray, f"{SETTLED}: promoted")) is None  # evidence settled it
    assert open_gray_zone(timeline(gray, "candidate refused (schedule)")) is None
    # a newer candidate supersedes an open gray zone: the newer one is what counts
    assert open_gray_zone(timeline(gray, "promoted (schedule)", SUPERSEDED)) is None
    assert open_gray_zone(timeline(gray, gray, SUPERSEDED))["date"] == "2013-06-11"
