import numpy as np

from mlgate.evaluate import decide, quality


def q(auc, logloss, rows=5000):
    return {"rows": rows, "auc": auc, "logloss": logloss}


def test_the_first_model_has_its_own_rule(spec):
    assert decide(spec, q(0.70, 0.5), None, "1", None).promote
    refused = decide(spec, q(0.60, 0.5), None, "1", None)
    assert not refused.promote and refused.first_model and "0.6000 < first-model minimum 0.62" in refused.reasons[0]


def test_better_auc_and_log_loss_promote(spec):
    decision = decide(spec, q(0.70, 0.50), q(0.68, 0.51), "2", "1")
    assert decision.promote and decision.sentence.startswith("PROMOTE v2 against champion v1: AUC 0.7000 vs 0.6800")


def test_lower_auc_or_worse_log_loss_or_the_floor_refuse(spec):
    assert "< required 0.0" in " ".join(decide(spec, q(0.67, 0.50), q(0.68, 0.51), "2", "1").reasons)
    worse_loss = decide(spec, q(0.70, 0.52), q(0.68, 0.51), "2", "1")
    assert not worse_loss.promote and "up 0.0100 > allowed 0.002" in " ".join(worse_loss.reasons)
    floor = decide(spec, q(0.61, 0.50), q(0.55, 0.60), "2", "1")
    assert not floor.promote and "below the floor 0.62" in " ".join(floor.reasons)


def test_too_few_rows_mean_nothing(spec):
    decision = decide(spec, q(0.90, 0.30, rows=50), q(0.60, 0.60, rows=50), "2", "1")
    assert not decision.promote and decision.reasons == ["only 50 evaluation rows, the spec needs 1000"]


def test_quality_metrics():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    m = quality(labels, scores)
    assert m["rows"] == 4 and m["auc"] == 0.75 and m["positive_rate"] == 0.5
    assert np.isnan(quality(np.array([1, 1]), np.array([0.2, 0.9]))["auc"])  # one class: no AUC
