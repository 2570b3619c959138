"""Charset file and the shared normaliser."""
import numpy as np

from slim_ocr.charset import load_charset
from slim_ocr.ctc import greedy_decode

from pruning.training.build_charset import build


def test_charset_file_matches_builder():
    cs = load_charset()
    assert cs.chars == build()
    assert len([c for c in cs.chars if "\u4e00" <= c <= "\u9fff"]) == 3755
    assert cs.num_classes == len(cs.chars) + 1 and " " in cs.index


def test_normaliser_folds_only_missing_forms():
    cs = load_charset()
    assert cs.normalize("Ｈｅｌｌｏ１２３") == "Hello123"      # full-width ASCII -> ASCII
    assert cs.normalize("你好，世界！") == "你好，世界！"        # full-width CJK punctuation kept
    assert cs.normalize("a\u3000\u3000b\t c ") == "a b c"       # spaces collapse
    assert cs.normalize("ﬁ") == "fi"                            # NFKC ligature
    assert cs.normalize("€😀") == "€"                            # unknown dropped


def test_normalise_is_idempotent_and_encodes():
    cs = load_charset()
    for text in ["发票号码：No.12345678", "Total ¥1,234.56", "Ｅｍａｉｌ：ａ＠ｂ．ｃｏｍ", "（括号）【标题】"]:
        n = cs.normalize(text)
        assert cs.normalize(n) == n
        assert cs.decode_ids(cs.encode(n)) == n


def test_ctc_greedy_collapses_repeats_and_blanks():
    cs = load_charset()
    ids = cs.encode("aab")
    seq = [ids[0], ids[0], 0, ids[1], ids[2], ids[2], 0]  # a a _ a b b _ -> "aab"
    logits = np.full((len(seq), 1, cs.num_classes), -10.0, np.float32)
    for t, c in enumerate(seq):
        logits[t, 0, c] = 10.0
    (text, conf), = greedy_decode(logits, cs)
    assert text == "aab" and conf > 0.99
    (text, _), = greedy_decode(logits, cs, lengths=[3])
    assert text == "a"


def test_confidence_is_the_mean_max_probability_of_the_kept_steps():
    cs = load_charset()
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (30, 4, cs.num_classes)).astype(np.float32)
    logits[::3, :, 0] += 12                                     # some blank steps
    lengths = [30, 22, 9, 1]
    probs = np.exp(logits - logits.max(2, keepdims=True))
    probs /= probs.sum(2, keepdims=True)
    for scores, activation in ((logits, "logits"), (probs, "softmax")):
        got = greedy_decode(scores, cs, lengths, activation)
        for b, (text, conf) in enumerate(got):
            best = probs[:lengths[b], b].argmax(1)
            kept = [t for t in range(lengths[b]) if best[t] != 0 and (t == 0 or best[t] != best[t - 1])]
            assert text == cs.decode_ids(best[kept])
            want = float(probs[kept, b, best[kept]].mean()) if kept else 0.0
            assert abs(conf - want) < 1e-5, (activation, b)
        for b, (text, conf, chars) in enumerate(greedy_decode(scores, cs, lengths, activation, char_probs=True)):
            best = probs[:lengths[b], b].argmax(1)
            kept = [t for t in range(lengths[b]) if best[t] != 0 and (t == 0 or best[t] != best[t - 1])]
            assert len(chars) == len(text) == len(kept)
            np.testing.assert_allclose(chars, probs[kept, b, best[kept]], atol=1e-5)


def test_worker_batches_share_every_line_once_and_balance_the_work():
    from slim_ocr.preprocess import width_groups, worker_batches
    widths = [600, 620, 640, 700, 760, 780, 800, 820, 1000, 1040, 1200, 96, 100]
    for workers in (1, 2, 3):
        shares = worker_batches(widths, workers)
        flat = sorted(i for share in shares for batch in share for i in batch)
        assert flat == list(range(len(widths)))
        assert len(shares) <= workers
        for batch in (b for share in shares for b in share):   # no batch spans a width cut
            assert max(widths[i] for i in batch) <= 1.25 * min(widths[i] for i in batch)
    assert sorted(worker_batches(widths, 1)[0]) == sorted(width_groups(widths))   # one worker: the plain batches
    cost = lambda b: len(b) * max(widths[i] for i in b)  # noqa: E731
    shares = worker_batches(widths, 2)
    load = [sum(cost(b) for b in share) for share in shares]
    assert max(load) <= sum(load) / 2 + max(cost(b) for share in shares for b in share)   # greedy's bound
    # one batch of uniform lines is halved so that both workers get some
    assert [len(s) for s in worker_batches([800] * 10, 2)] == [1, 1]
    assert worker_batches([800], 2) == [[[0]]]
