import datetime as dt

from seqlab.data.dates import FIRST_DAY, N_DAYS, english_ordinal, sample_pairs, stream_pairs, surface_forms
from seqlab.tasks.dates import DatesData, build_vocab, encode_batch, held_out


def test_examples_from_the_issue():
    forms = surface_forms(dt.date(2019, 7, 4))
    for text in ["the 4th of July 2019", "07/04/19", "Thursday, July 4, 2019", "4 Jul. '19",
                 "jeudi 4 juillet 2019", "Donnerstag, 4. Juli 2019", "4 de julio de 2019"]:
        assert text in forms


def test_no_surface_form_is_ambiguous():
    """Every lower-cased form of every date 1950-2049 names exactly one date."""
    owner: dict[str, dt.date] = {}
    for offset in range(N_DAYS):
        d = FIRST_DAY + dt.timedelta(days=offset)
        for form in surface_forms(d):
            assert owner.setdefault(form.lower(), d) == d, (form, owner[form.lower()], d)


def test_ordinals():
    assert [english_ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


def test_held_out_sets_are_disjoint_and_excluded_from_training():
    dev, test = held_out(DatesData(n_dev=300, n_test=500))
    dev_src, test_src = {p.source.lower() for p in dev}, {p.source.lower() for p in test}
    assert len(dev_src) == 300 and len(test_src) == 500 and not dev_src & test_src
    stream = stream_pairs(0, exclude=dev_src | test_src)
    assert not {next(stream).source.lower() for _ in range(5000)} & (dev_src | test_src)


def test_vocabulary_covers_everything_the_generator_writes():
    vocab = build_vocab()
    for pair in sample_pairs(5000, seed=7):
        assert vocab.unk_id not in vocab.encode(pair.source), pair.source
        assert vocab.decode(vocab.encode(pair.target)) == pair.target


def test_batches_are_padded_with_bos_and_eos():
    vocab = build_vocab()
    pairs = sample_pairs(4, seed=3)
    batch = encode_batch(pairs, vocab)
    assert batch["tgt"].shape == (4, 12)
    assert (batch["tgt"][:, 0] == vocab.bos_id).all() and (batch["tgt"][:, -1] == vocab.eos_id).all()
    assert vocab.decode(batch["src"][0].tolist()) == " ".join(pairs[0].source.lower().split())
