"""`python -m vae_core sweep`: a tiny β sweep on tiny shapes trains, scores and tabulates every run."""
import csv
import json

import pytest
import torch

from vae_core.cli import main
from vae_core.runs.checkpoint import load_run
from vae_core.runs.registry import list_runs
from vae_core.sweep import check_betas, dimension_roles, factor_shares, find_sweep_tables, read_sweep_table

TINY = ["--dataset", "shapes:32:200", "--latent-dim", "3", "--hidden-sizes", "16", "--epochs", "1",
        "--batch-size", "32", "--mig-samples", "300", "--factor-vae-votes", "40,20", "--factor-vae-batch", "8",
        "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """(out folder, stdout) of a two-β sweep on 200 shapes, one epoch each."""
    out = tmp_path_factory.mktemp("sweep")
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: a second thread only adds overhead on a busy machine
    try:
        code = main(["sweep", *TINY, "--beta", "4,1", "--out", str(out), "--name", "tiny"])
    finally:
        torch.set_num_threads(before)
    assert code == 0
    return out


def test_the_sweep_writes_a_run_per_beta_and_the_table(tiny_sweep):
    names = sorted(p.name for p in tiny_sweep.iterdir())
    assert names == ["tiny-beta1", "tiny-beta4", "tiny-sweep.csv", "tiny-sweep.json", "tiny-sweep.md"]
    with open(tiny_sweep / "tiny-sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["beta"] for r in rows] == ["1", "4"] and [r["run"] for r in rows] == ["tiny-beta1", "tiny-beta4"]
    assert list(rows[0]) == ["beta", "run", "neg_elbo", "recon", "kl", "active_units", "mig", "factor_vae",
                             "mig_shape", "mig_scale", "mig_rotation", "mig_x", "mig_y"]
    for r in rows:
        assert float(r["neg_elbo"]) == pytest.approx(float(r["recon"]) + float(r["kl"]), abs=2e-3)
        assert float(r["kl"]) >= 0 and 0 <= float(r["mig"]) <= 1 and 0 <= float(r["factor_vae"]) <= 1
    markdown = (tiny_sweep / "tiny-sweep.md").read_text()
    assert "| β | run | −ELBO | recon | KL | active units | MIG | FactorVAE |" in markdown and "nats per test image" in markdown


def test_each_run_is_an_ordinary_run_with_its_beta(tiny_sweep):
    summaries = {s.name: s for s in list_runs(tiny_sweep)}
    assert set(summaries) == {"tiny-beta1", "tiny-beta4"} and all(s.error is None for s in summaries.values())
    for beta in (1, 4):
        run = load_run(tiny_sweep / f"tiny-beta{beta}")
        assert run.train_config.beta == beta and run.model_config.latent_dim == 3
        assert run.dataset_info["spec"] == "shapes:32:200"


def test_the_json_table_reads_back_with_its_scores(tiny_sweep):
    assert find_sweep_tables(tiny_sweep) == [tiny_sweep / "tiny-sweep.json"]
    table = read_sweep_table(tiny_sweep / "tiny-sweep.json")
    assert table.dataset == "shapes:32:200" and table.factor_names == ["shape", "scale", "rotation", "x", "y"]
    assert (table.scores.mig_samples, table.scores.factor_vae_train, table.scores.factor_vae_eval) == (300, 40, 20)
    assert [r.beta for r in table.rows] == [1.0, 4.0]
    row = table.rows[0]
    assert len(row.mutual_info) == 3 and len(row.mutual_info[0]) == 5 and len(row.kl_per_dim) == 3
    assert row.mig == pytest.approx(sum(row.mig_per_factor) / 5)


def test_dimension_roles_put_the_most_used_dimension_first_with_its_best_factor(tiny_sweep):
    row = read_sweep_table(tiny_sweep / "tiny-sweep.json").rows[0]
    shares = factor_shares(row)
    assert shares.shape == (3, 5) and (shares >= 0).all() and (shares <= 1 + 1e-9).all()
    roles = dimension_roles(row)
    assert sorted(r.dim for r in roles) == [0, 1, 2]
    assert [r.kl for r in roles] == sorted(row.kl_per_dim, reverse=True)
    assert all(r.share == shares[r.dim].max() and shares[r.dim, r.factor] == r.share for r in roles)


def test_the_printed_table_has_a_line_per_beta(tiny_sweep, capsys):
    # The module fixture ran before capsys existed; a second, different sweep prints its own table.
    code = main(["sweep", *TINY, "--beta", "2", "--out", str(tiny_sweep), "--name", "tiny-two"])
    out = capsys.readouterr().out
    assert code == 0
    assert "| 2 | tiny-two-beta2 |" in out and "nats per test image" in out and "tiny-two-sweep.csv" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "digits"], "only the shapes data has"),
        (["--beta", "1,x"], "numbers separated by commas"),
        (["--beta", "2,2"], "distinct numbers"),
        (["--factor-vae-votes", "100"], "two whole numbers"),
    ],
)
def test_bad_arguments_end_in_a_usage_message(args, message, tmp_path, capsys):
    argv = ["sweep", *TINY, "--out", str(tmp_path), *args]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_sweep_never_overwrites_existing_runs(tiny_sweep, capsys):
    with pytest.raises(SystemExit):
        main(["sweep", *TINY, "--beta", "1,8", "--out", str(tiny_sweep), "--name", "tiny"])
    assert "tiny-beta1, tiny-sweep.json exist(s) already" in capsys.readouterr().err
    assert not (tiny_sweep / "tiny-beta8").exists()
    # Another β under the same name would overwrite the table of the first sweep.
    with pytest.raises(SystemExit):
        main(["sweep", *TINY, "--beta", "8", "--out", str(tiny_sweep), "--name", "tiny"])
    assert "tiny-sweep.json exist(s) already" in capsys.readouterr().err


def test_betas_are_checked_and_sorted():
    assert check_betas([8, 1, 4.0]) == [1.0, 4.0, 8.0]
    for bad in ([], [-1], [float("nan")], [1, 1.0]):
        with pytest.raises(ValueError, match="beta"):
            check_betas(bad)


def test_a_table_that_is_not_one_is_refused(tmp_path):
    path = tmp_path / "x-sweep.json"
    path.write_text(json.dumps({"name": "x", "rows": [{"beta": 1}]}))
    with pytest.raises(ValueError, match="not a sweep table"):
        read_sweep_table(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="cannot read"):
        read_sweep_table(path)
