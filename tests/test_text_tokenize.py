from seqlab.text import ENGLISH_STOP_WORDS, char_tokenize, normalise, remove_stopwords, sentence_split, word_tokenize


def test_normalise_nfkc_lowercase_accents():
    assert normalise("Café  Ａ\tﬁne") == "Café A fine"  # full-width A and the fi ligature fold, spaces collapse
    assert normalise("Café Crème", lowercase=True, strip_accents=True) == "cafe creme"
    assert normalise("naïve", strip_accents=True) == "naive"


def test_word_tokenize_clitics_and_punctuation():
    assert word_tokenize("I don't like Mr. O'Neil's dog.") == ["I", "do", "n't", "like", "Mr.", "O'Neil", "'s",
                                                                "dog", "."]
    assert word_tokenize("They'll say it can't, won't.") == ["They", "'ll", "say", "it", "ca", "n't", ",", "wo",
                                                              "n't", "."]
    assert word_tokenize("U.S.A. e-mail costs 3.14 or 1,000... at 12:30!") == [
        "U.S.A.", "e-mail", "costs", "3.14", "or", "1,000", "...", "at", "12:30", "!"]
    assert word_tokenize("rock'n'roll -- (yes)") == ["rock'n'roll", "--", "(", "yes", ")"]


def test_sentence_split_skips_abbreviations_and_initials():
    assert sentence_split("It rained. Dr. Who left! Did he?") == ["It rained.", "Dr. Who left!", "Did he?"]
    assert sentence_split('J. Smith came. "Yes." She said so') == ["J. Smith came.", '"Yes."', "She said so"]
    assert sentence_split("no capital. after it") == ["no capital. after it"]
    assert sentence_split("") == []


def test_char_tokenize():
    assert char_tokenize("ab c") == ["a", "b", " ", "c"]


def test_stop_words_are_the_glasgow_list_as_in_sklearn():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN

    assert ENGLISH_STOP_WORDS == SKLEARN and len(ENGLISH_STOP_WORDS) == 318
    assert remove_stopwords(["The", "dog", "is", "NOT", "here", "barking"]) == ["dog", "barking"]
    assert remove_stopwords(["not", "good"], ENGLISH_STOP_WORDS - {"not"}) == ["not", "good"]


def test_importing_seqlab_text_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, seqlab.text; assert 'torch' not in sys.modules and 'tokenizers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_number_before_a_full_stop_ends_the_sentence():
    from seqlab.text import sentence_split

    assert sentence_split("I have 2. You have 3. J. Smith left.") == ["I have 2.", "You have 3.", "J. Smith left."]
