"""The Vision Transformer (the paper's equations on seqlab's blocks), its CNN baseline and the image task on the images
inside scikit-learn and scikit-image."""

from __future__ import annotations

import pytest
import torch

import seqlab
from seqlab.errors import SeqlabError
from seqlab.models.config import SmallCNNConfig, ViTConfig
from seqlab.models.vit import SmallCNN, ViT


def _vit(**kw) -> ViT:
    cfg = dict(image_size=[8, 8], patch_size=2, n_classes=10, d_model=16, n_heads=2, d_ff=32, n_layers=2,
               dropout=0.0)
    return ViT(ViTConfig(**{**cfg, **kw})).eval()


def test_patch_embedding_is_a_linear_map_of_each_flattened_patch():
    torch.manual_seed(0)
    model = _vit(image_size=[6, 4], channels=3)
    images = torch.randn(2, 3, 6, 4)
    patches = model.patches(images)  # (B, N, C P P)
    assert patches.shape == (2, 6, 12)
    torch.testing.assert_close(patches[0, 1], images[0, :, 0:2, 2:4].reshape(-1))  # row 0, column 1
    weight = model.patch_embed.weight.reshape(16, -1)  # E: (D, C P P)
    expected = patches @ weight.T + model.patch_embed.bias
    torch.testing.assert_close(model.patch_embed(images).flatten(2).transpose(1, 2), expected)


def test_forward_is_cls_plus_positions_through_the_encoder():
    torch.manual_seed(1)
    model = _vit()
    images = torch.rand(3, 8, 8)
    encoder = model.encoder
    z = torch.cat([encoder.cls.expand(3, -1, -1), model.patches(images.unsqueeze(1)) @
                   model.patch_embed.weight.reshape(16, -1).T + model.patch_embed.bias], 1)
    z = z + encoder.positions.embedding.weight
    for layer in encoder.layers:
        z, _ = layer(z)
    torch.testing.assert_close(model(images), model.head(encoder.norm(z[:, 0])))
    logits, weights = model(images, need_weights=True)
    assert logits.shape == (3, 10) and weights[0].shape == (3, 2, 17, 17)
    attention = model.cls_attention(images)
    assert attention.shape == (3, 4, 4)
    assert torch.all(attention.sum((1, 2)) <= 1 + 1e-5)  # the rest is [CLS] attending to itself


def test_images_of_the_wrong_shape_are_one_line_errors():
    model = _vit()
    with pytest.raises(ValueError, match=r"images must have shape \(batch, 1, 8, 8\) or \(batch, 8, 8\), got \(2, "
                                         r"1, 9, 8\)"):
        model(torch.rand(2, 1, 9, 8))
    with pytest.raises(ValueError, match="patch_size=3 must divide"):
        ViTConfig(image_size=[8, 8], patch_size=3)
    cnn = SmallCNN(SmallCNNConfig(image_size=[25, 25], n_classes=2))
    assert cnn(torch.rand(4, 25, 25)).shape == (4, 2)
    with pytest.raises(ValueError, match="got \\(4, 3, 25, 25\\)"):
        cnn(torch.rand(4, 3, 25, 25))


def test_vit_learns_the_digits_a_little(tmp_path):
    pytest.importorskip("sklearn")
    from seqlab.tasks.image import load_images

    torch.manual_seed(2)
    data = load_images("digits")
    model = _vit()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = data.images[:256], data.labels[:256]
    first = model.loss(x, y).item()
    for _ in range(80):
        optimizer.zero_grad()
        model.loss(x, y).backward()
        optimizer.step()
    assert model.loss(x, y).item() < 0.5 * first


def _image_config(model_type: str, dataset: str):
    from seqlab.config import from_dict
    from seqlab.tasks.config import ImageRunConfig

    size = [25, 25] if dataset == "lfw_subset" else [8, 8]
    model = ({"vit": {"image_size": size, "patch_size": 5 if dataset == "lfw_subset" else 2, "d_model": 16,
                      "n_heads": 2, "d_ff": 16, "n_layers": 1}} if model_type == "vit"
             else {"cnn": {"image_size": size, "filters": [4, 8]}})
    return from_dict(ImageRunConfig, {"model_type": model_type, "data": {"dataset": dataset}, "epochs": 1,
                                      "train": {"batch_size": 64, "precision": "fp32"}, **model})


@pytest.mark.parametrize("model_type, dataset", [("vit", "digits"), ("cnn", "digits"), ("vit", "lfw_subset")])
def test_image_task_end_to_end(tmp_path, model_type, dataset):
    pytest.importorskip("sklearn" if dataset == "digits" else "skimage")
    from seqlab.tasks import get_task

    out = tmp_path / "run"
    metrics = get_task("image").train(_image_config(model_type, dataset), out, progress=False)
    n = 1797 if dataset == "digits" else 200
    assert metrics["images"] + metrics["n_train"] + metrics["n_dev"] == n
    assert (out / "confusion_matrix.png").is_file()
    assert (out / "cls_attention.png").is_file() == (model_type == "vit")
    clf = seqlab.load(out)
    side = 25 if dataset == "lfw_subset" else 8
    predictions = clf.predict(torch.rand(2, side, side).numpy())
    assert len(predictions) == 2 and predictions[0][0] in clf.names and 0 < predictions[0][1] <= 1
    with pytest.raises(SeqlabError, match="reads images, not lines of text"):
        clf.predict(["0 1 2"])
    with pytest.raises(SeqlabError, match="images must be an array of numbers"):
        clf.predict([[[0.0] * side] * side, [[0.0] * side]])  # ragged
    with pytest.raises(SeqlabError, match=r"images must have shape \(batch, 1, " + str(side)):
        clf.predict(torch.rand(2, side + 1, side).numpy())


def test_the_test_split_is_fixed_and_stratified():
    pytest.importorskip("sklearn")
    from seqlab.tasks.image import splits

    cfg = _image_config("cnn", "digits")
    first, again = splits(cfg), splits(cfg)
    # 20% of each class, rounded: 359 of 1,797
    assert torch.equal(first["test"].labels, again["test"].labels) and len(first["test"].labels) == 359
    counts = torch.bincount(first["test"].labels, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


def test_image_batches_depend_only_on_the_seed_and_the_epoch():
    """What an exact --resume needs: epoch e's batches (and shifts) are the same however the run got there."""
    from seqlab.tasks.image import Batches, Images

    data = Images(torch.rand(10, 1, 8, 8), torch.arange(10) % 3, ["a", "b", "c"])
    batches = Batches(data, 4, seed=7, augment=True, mean=0.5, std=0.25)
    assert len(batches) == 3
    batches.set_epoch(2)
    first = list(batches)
    batches.set_epoch(0)
    list(batches)
    batches.set_epoch(2)
    again = list(batches)
    assert all(torch.equal(a["images"], b["images"]) and torch.equal(a["label"], b["label"])
               for a, b in zip(first, again, strict=True))
    batches.set_epoch(3)
    assert not torch.equal(next(iter(batches))["images"], first[0]["images"])
