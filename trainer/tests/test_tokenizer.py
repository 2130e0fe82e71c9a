from genrec_trainer.tokenizer import PAD_ID, UNK_ID, Vocab, tokenize


def test_tokenize_lowercase_alnum_runs():
    assert tokenize("Red-Shoes, size 42!  RUNNING_fast") == ["red", "shoes", "size", "42", "running", "fast"]
    assert tokenize("Café crème") == ["caf", "cr", "me"]  # non-ASCII letters split tokens, like Java's regex
    assert tokenize("") == [] and tokenize(None) == []


def test_vocab_build_encode_and_roundtrip(tmp_path):
    v = Vocab.build(["b a", "a c", "a"])
    assert v.tokens == ["[PAD]", "[UNK]", "a", "b", "c"]  # frequency, then alphabetical
    assert v.encode("A zebra b", 5) == [2, UNK_ID, 3, PAD_ID, PAD_ID]
    assert v.encode("a b c a b", 3) == [2, 3, 4]             # first max_tokens kept
    assert v.encode(None, 2) == [PAD_ID, PAD_ID]
    v.save(tmp_path / "vocab.txt")
    assert (tmp_path / "vocab.txt").read_text().splitlines()[:2] == ["[PAD]", "[UNK]"]
    assert Vocab.load(tmp_path / "vocab.txt").tokens == v.tokens
