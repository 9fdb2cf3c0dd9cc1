"""What BERT's vectors know, with the real all-MiniLM-L6-v2 (the lectures' demonstrations):

1. "bank" beside "river" is closer to "river" than "bank" in a sentence about rates;
2. "stick" the verb and "stick" the noun start from one input vector and end far apart;
3. in "The animal didn't cross the street because it was too tired", the head that makes "it" (and not the other
   words) look at "animal".

    python examples/bert_in_context.py [--out DIR]     (needs: pip install 'seqlab[pretrained]')
"""

import argparse
from pathlib import Path

import numpy as np

from seqlab.models.bert import load_sentence_encoder
from seqlab.viz.plots import plot_attention

ANIMAL = "The animal didn't cross the street because it was too tired"


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bert_in_context", help="where the plots go")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    encoder = load_sentence_encoder()

    river = encoder.word_vector("river", "river")
    for text in ("the river bank", "the bank raised rates"):
        print(f"cos(bank in {text!r}, river) = {cosine(encoder.word_vector(text, 'bank'), river):.3f}")

    verb, noun = "let's stick to improvisation", "a wooden stick"
    for layer, name in ((0, "input embeddings"), (-1, "last layer")):
        similarity = cosine(encoder.word_vector(verb, "stick", layer=layer),
                            encoder.word_vector(noun, "stick", layer=layer))
        print(f"cos(stick in {verb!r}, stick in {noun!r}), {name}: {similarity:.3f}")

    to_animal, states = encoder.attention_to(ANIMAL, "animal")  # (L, H, T)
    it = states.pieces_of("it")[0]
    words = [p for p, w in enumerate(states.piece_words) if w is not None and p != it
             and p not in states.pieces_of("animal")]
    others = to_animal[:, :, words].mean(-1)  # (L, H): how much the other words look at "animal"
    layer, head = np.unravel_index((to_animal[:, :, it] - others).argmax(), others.shape)
    print(f"'it' -> 'animal': layer {layer + 1}, head {head + 1} gives it {to_animal[layer, head, it]:.2f} "
          f"while the other words give 'animal' {others[layer, head]:.2f} on average")
    plot_attention(to_animal[:, :, it], [str(h + 1) for h in range(others.shape[1])],
                   [str(i + 1) for i in range(others.shape[0])], out / "it_animal_heads.png",
                   title="Attention from 'it' to 'animal', per head", axis_names=("head", "layer"))
    plot_attention(states.attention[layer, head], states.pieces, states.pieces, out / "it_animal_best_head.png",
                   title=f"Layer {layer + 1}, head {head + 1}", axis_names=("attended to", "piece"))
    print(f"wrote it_animal_heads.png, it_animal_best_head.png to {out}/")


if __name__ == "__main__":
    main()
