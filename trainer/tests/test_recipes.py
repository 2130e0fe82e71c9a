"""--recipe: one flag for the benchmarks' recipe, explicit flags still winning, the data deciding the rest."""
import json

from genrec_trainer import recipes, synthetic
from genrec_trainer import train as train_module

# The recipe as BENCHMARKS.md's commands spell it for a labelled log ($R --dense-rank --select-on ndcg@10+auc
# --dense-divisor fixed): --recipe quality must train exactly this.
BENCHMARK_FLAGS = ("--epochs 300 --eval-every 1 --patience 20 --select-best --sampling users --dense-loss "
                   "--target-weight 0 --readout last_event --tied-embeddings --input-scale 8 --similarity dot "
                   "--full-softmax --dropout 0.2 --d-model 64 --layers 2 --heads 1 --batch-size 128 --lr 1e-3 "
                   "--dense-rank --select-on ndcg@10+auc --dense-divisor fixed --co-occurrence 100").split()
SYNTHETIC = ["--dataset", "synthetic", "--users", "30", "--num-items", "40", "--out", "unused"]


def train_arguments(monkeypatch, argv) -> dict:
    """The keyword arguments main() hands to train() for this command line (nothing is trained)."""
    seen = {}
    monkeypatch.setattr(train_module, "train", lambda items, events, **kw: seen.update(kw))
    train_module.main(argv)
    return seen


def test_the_quality_recipe_is_the_benchmarks_flag_set(monkeypatch):
    recipe = train_arguments(monkeypatch, SYNTHETIC + ["--recipe", "quality"])
    spelled_out = train_arguments(monkeypatch, SYNTHETIC + BENCHMARK_FLAGS)
    assert recipe == spelled_out  # also catches a recipe key that is no flag's name: it would never reach train()
    small = train_arguments(monkeypatch, SYNTHETIC)
    assert (small["d_model"], small["full_softmax"], small["dense_rank"], small["select_on"]) == (32, False, False,
                                                                                                   "ndcg@10")
    assert (small["co_occurrence"], small["co_occurrence_span"]) == (0, 0)
    assert (recipe["co_occurrence"], recipe["co_occurrence_span"]) == (100, 0)  # synthetic events have seconds


def test_explicit_flags_override_the_recipe(monkeypatch):
    kw = train_arguments(monkeypatch, SYNTHETIC + ["--recipe", "quality", "--dropout", "0.5", "--no-full-softmax",
                                                   "--no-dense-rank", "--select-on", "ndcg@10", "--co-occurrence", "0"])
    assert (kw["dropout"], kw["full_softmax"], kw["dense_rank"], kw["select_on"]) == (0.5, False, False, "ndcg@10")
    assert kw["co_occurrence"] == 0
    assert kw["d_model"] == 64  # the rest of the recipe stays


def test_no_co_occurrence_term_without_the_served_order(monkeypatch):
    # the term is a part of the served window's order; with no window tested there is nothing to add it to
    kw = train_arguments(monkeypatch, SYNTHETIC + ["--recipe", "quality", "--rerank-top", "0"])
    assert (kw["co_occurrence"], kw["co_occurrence_span"]) == (0, 0)


def test_a_large_catalogue_gets_sampled_negatives(monkeypatch):
    monkeypatch.setattr(recipes, "FULL_SOFTMAX_MAX_ITEMS", 39)
    assert not train_arguments(monkeypatch, SYNTHETIC + ["--recipe", "quality"])["full_softmax"]  # 40 items
    monkeypatch.setattr(recipes, "FULL_SOFTMAX_MAX_ITEMS", 40)
    assert train_arguments(monkeypatch, SYNTHETIC + ["--recipe", "quality"])["full_softmax"]


def generic_log(tmp_path, **overrides) -> list[str]:
    """The synthetic log written in the documented schema with `overrides` on every event; its files as flags."""
    items, events = synthetic.generate(seed=1, num_users=30, num_items=40)
    (tmp_path / "items.jsonl").write_text("".join(json.dumps({"item_id": i.item_id, "title": i.title,
                                                              "categories": list(i.categories)}) + "\n" for i in items))
    (tmp_path / "events.jsonl").write_text("".join(json.dumps({**e.to_dict(), **overrides}) + "\n" for e in events))
    return ["--events", str(tmp_path / "events.jsonl"), "--items", str(tmp_path / "items.jsonl"), "--out", "unused"]


def test_a_log_without_negative_labels_gets_no_label_dependent_choices(monkeypatch, tmp_path):
    # With only positives (unlabelled events) the ranker's dense BCE and the AUC criterion have nothing to learn
    # or measure: train() refuses them, so the recipe must not pick them.
    kw = train_arguments(monkeypatch, generic_log(tmp_path, label=None) + ["--recipe", "quality"])
    assert (kw["full_softmax"], kw["dense_rank"], kw["select_on"]) == (True, False, "ndcg@10")


def test_a_log_in_order_only_counts_co_occurrence_by_events(monkeypatch, tmp_path):
    # Counting by second needs seconds (train() refuses it on a log without them), so the span follows the data,
    # under either recipe once the term is on; a span given on the command line wins.
    order_only = generic_log(tmp_path, timestamp=0)
    quality = train_arguments(monkeypatch, order_only + ["--recipe", "quality"])
    assert (quality["co_occurrence"], quality["co_occurrence_span"]) == (100, recipes.QUALITY_CO_OCCURRENCE_SPAN)
    asked = train_arguments(monkeypatch, order_only + ["--co-occurrence", "20"])
    assert (asked["co_occurrence"], asked["co_occurrence_span"]) == (20, recipes.QUALITY_CO_OCCURRENCE_SPAN)
    given = train_arguments(monkeypatch, order_only + ["--recipe", "quality", "--co-occurrence-span", "2"])
    assert given["co_occurrence_span"] == 2
    assert train_arguments(monkeypatch, order_only)["co_occurrence_span"] == 0  # no term, no span
