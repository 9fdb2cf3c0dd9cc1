import json

import numpy as np
import pytest

from seqlab.text.tools.langid import (
    LanguageIdentifier,
    NGramConfig,
    char_ngrams,
    evaluate,
    first_words,
    load_or_train,
    model_path,
    multi30k_sentences,
    word_ngrams,
)

CORPUS = {
    "en": ["The dog runs in the park.", "A man is riding a bicycle on the street.", "Two children play with a ball.",
           "The woman is reading a book near the window.", "People are walking through the city."],
    "de": ["Der Hund läuft im Park.", "Ein Mann fährt mit dem Fahrrad auf der Straße.", "Zwei Kinder spielen mit "
           "einem Ball.", "Die Frau liest ein Buch am Fenster.", "Leute gehen durch die Stadt."],
    "fr": ["Le chien court dans le parc.", "Un homme fait du vélo dans la rue.", "Deux enfants jouent avec un "
           "ballon.", "La femme lit un livre près de la fenêtre.", "Des gens marchent dans la ville."],
}
HELD_OUT = {"en": ["The man is reading in the street."], "de": ["Der Mann liest auf der Straße."],
            "fr": ["L'homme lit dans la rue."]}


def test_ngrams_pad_words_with_boundaries():
    assert word_ngrams("le", 1, 3) == [" l", "le", "e ", " le", "le ", "l", "e"]
    assert char_ngrams("Le  LE", 2, 2) == [" l", "le", "e ", " l", "le", "e "]  # lower-cased, per word


def test_counting_words_first_equals_counting_every_sentence():
    model = LanguageIdentifier.fit(CORPUS)
    for lang, sentences in CORPUS.items():
        direct: dict[str, int] = {}
        for sentence in sentences:
            for g in char_ngrams(sentence):
                direct[g] = direct.get(g, 0) + 1
        assert model.ngram_counts[lang] == direct


def test_equations_by_hand():
    model = LanguageIdentifier.fit({"a": ["ab"], "b": ["b b"]}, NGramConfig(1, 1, alpha=0.5))
    # vocabulary {a, b}; counts a: {a: 1, b: 1}, b: {b: 2}; prior 1/2 each
    expected_a = np.log(0.5) + 2 * np.log((1 + 0.5) / (2 + 0.5 * 2))  # "ab": P(a|a) = P(b|a) = 1.5 / 3
    expected_b = np.log(0.5) + np.log(0.5 / 3) + np.log(2.5 / 3)
    np.testing.assert_allclose(model.joint_log_likelihood(["ab"])[0], [expected_a, expected_b])
    assert model.joint_log_likelihood(["zz"])[0].tolist() == model.log_prior.tolist()  # unseen n-grams ignored


def test_parity_with_sklearn_multinomial_nb():
    feature_extraction = pytest.importorskip("sklearn.feature_extraction.text")
    naive_bayes = pytest.importorskip("sklearn.naive_bayes")
    texts = [s for sentences in CORPUS.values() for s in sentences]
    labels = [lang for lang, sentences in CORPUS.items() for _ in sentences]
    queries = [s for sentences in HELD_OUT.values() for s in sentences] + ["Hund", "xyz", "le parc"]
    for alpha in (1.0, 0.1):
        vectorizer = feature_extraction.CountVectorizer(analyzer=char_ngrams)
        reference = naive_bayes.MultinomialNB(alpha=alpha).fit(vectorizer.fit_transform(texts), labels)
        ours = LanguageIdentifier.fit(CORPUS, NGramConfig(alpha=alpha))

        assert ours.languages == list(reference.classes_)
        columns = [vectorizer.vocabulary_[g] for g in ours.vocabulary]  # our row order -> their columns
        np.testing.assert_allclose(ours.log_likelihood, reference.feature_log_prob_[:, columns].T, rtol=1e-12)
        np.testing.assert_allclose(ours.log_prior, reference.class_log_prior_, rtol=1e-12)
        features = vectorizer.transform(queries)
        np.testing.assert_allclose(ours.joint_log_likelihood(queries), reference.predict_joint_log_proba(features),
                                   rtol=1e-10)
        np.testing.assert_allclose(ours.predict_log_proba(queries), reference.predict_log_proba(features),
                                   rtol=1e-9, atol=1e-12)
        assert ours.predict(queries) == list(reference.predict(features))


def test_small_corpus_predicts_held_out_and_evaluates():
    model = LanguageIdentifier.fit(CORPUS)
    result = evaluate(model, HELD_OUT)
    assert result.accuracy == 1.0 and result.confusion == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    probs = np.exp(model.predict_log_proba(["Die Kinder spielen im Park."]))
    assert probs.sum() == pytest.approx(1.0) and model.languages[probs.argmax()] == "de"
    assert "accuracy 1.0000 (3 sentences)" in result.format()


def test_json_round_trip():
    model = LanguageIdentifier.fit(CORPUS)
    loaded = LanguageIdentifier.from_json(json.loads(json.dumps(model.to_json())))
    np.testing.assert_array_equal(loaded.joint_log_likelihood(["Der Mann"]), model.joint_log_likelihood(["Der Mann"]))
    with pytest.raises(ValueError, match="format"):
        LanguageIdentifier.from_json({"format": "something else"})


def test_config_is_checked():
    with pytest.raises(ValueError):
        NGramConfig(3, 2)
    with pytest.raises(ValueError):
        NGramConfig(alpha=0)


@pytest.fixture(scope="module")
def multi30k_model(data_dir):
    return LanguageIdentifier.fit(multi30k_sentences("train", data_dir))


def test_multi30k_accuracy(multi30k_model, data_dir):
    """Measured: 1.0000 on whole test sentences (3 x 1000) and 0.9920 on their first two words."""
    test = multi30k_sentences("test", data_dir)
    assert sorted(test) == ["de", "en", "fr"] and all(len(s) == 1000 for s in test.values())
    assert evaluate(multi30k_model, test).accuracy >= 0.995
    assert evaluate(multi30k_model, first_words(test, 2)).accuracy >= 0.97


def test_multi30k_parity_with_sklearn(data_dir):
    feature_extraction = pytest.importorskip("sklearn.feature_extraction.text")
    naive_bayes = pytest.importorskip("sklearn.naive_bayes")
    train = {lang: sentences[:1500] for lang, sentences in multi30k_sentences("train", data_dir).items()}
    test = [s for sentences in multi30k_sentences("test", data_dir).values() for s in sentences[:100]]
    vectorizer = feature_extraction.CountVectorizer(analyzer=char_ngrams)
    features = vectorizer.fit_transform([s for sentences in train.values() for s in sentences])
    labels = [lang for lang, sentences in train.items() for _ in sentences]
    reference = naive_bayes.MultinomialNB(alpha=1.0).fit(features, labels)
    ours = LanguageIdentifier.fit(train)
    np.testing.assert_allclose(ours.joint_log_likelihood(test),
                               reference.predict_joint_log_proba(vectorizer.transform(test)), rtol=1e-10)
    assert ours.predict(test) == list(reference.predict(vectorizer.transform(test)))


def test_load_or_train_caches_json(tmp_path, monkeypatch):
    from seqlab.text.tools import langid

    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(langid, "multi30k_sentences", lambda split, data_dir=None: CORPUS)  # no real data needed
    model, trained = load_or_train()
    path = model_path(model.config)
    assert trained and path.parent.parent == tmp_path and json.loads(path.read_text())["format"] == "seqlab.langid/1"
    again, trained = load_or_train()
    assert not trained and again.ngram_counts == model.ngram_counts
    path.write_text("{broken")
    _, trained = load_or_train()  # a damaged cache is retrained, not an error
    assert trained
    _, trained = load_or_train(retrain=True)
    assert trained


def test_text_without_known_ngrams_is_unknown():
    from seqlab.text.tools.langid import UNKNOWN, describe

    model = LanguageIdentifier.fit(CORPUS)
    zero, some = model.known_ngrams(["😀😀", "Der Hund"])
    assert zero == 0 and some > 0
    assert model.predict(["😀😀", "Der Hund"]) == [None, "de"]
    assert describe(model, "😀😀") == "unknown (no known character n-grams)"
    assert describe(model, "Der Hund").startswith("de (German)")
    result = evaluate(model, {"en": ["The dog", "😀"]})
    assert result.languages[-1] == UNKNOWN and result.confusion[result.languages.index("en")][-1] == 1
    assert result.accuracy == 0.5
