"""Tiny PaddleX-shaped inference archives for testing the official path offline.

Runs in ``.cache/venv-official`` (needs PaddlePaddle and PyYAML; no project imports). Each
archive is ``<name>_infer.tar`` holding ``<name>_infer/{inference.json, inference.pdiparams,
inference.yml}`` as PaddleX publishes them, from ``paddle.jit.save`` of a network with the real
model's input/output signature (random weights, a few kB):

- layout, RT-DETR form (``RT-DETR-H_layout_3cls``, and ``PP-DocLayout-L`` /
  ``PP-DocLayout_plus-L``, RT-DETR-L with 23 / 20 PP-DocLayout labels): ``im_shape``, ``image``
  [N,3,H,W], ``scale_factor`` -> boxes [K,6] (one ``seal`` box per image covering the page)
  and box counts [N] int32; its yml asks for plain ``/255`` normalisation (no mean/std), like
  RT-DETR's;
- layout, PicoDet form (``PP-DocLayout-S`` / ``-M``): ``image``, ``scale_factor`` -> the same,
  ImageNet normalisation in the yml;
- seal det (mobile and server names): ``x`` [N,3,H,W] -> sigmoid map [N,1,H,W];
- rec: ``x`` [N,3,48,W] -> softmax [N,W/8,C]: C = 6625 with a 6623-character dictionary in the
  yml (``PP-OCRv4_*_rec``), C = 18385 with 18383 characters (``PP-OCRv5_*_rec``, as many as
  PP-OCRv5's dictionary).
- text-line orientation (``PP-LCNet_x0_25_textline_ori``): ``x`` [N,3,80,160] -> softmax [N,2],
  its yml as PaddleX's ``ClasPredictor`` reads it (ResizeImage, NormalizeImage, ToCHWImage, Topk
  labels ``0_degree``/``180_degree``).
- ``UVDoc``'s operator set (PaddleX's UVDocNet, tiny): ``image`` [N,3,H,W] -> bilinear resize
  (align_corners) to a fixed size, convolutions with reflect padding, dilation and a stride,
  batch norm, PReLU, a 2-channel grid, resized back to (H, W) and ``grid_sample``
  (align_corners) of the input -> [N,3,H,W]; ``UVDoc_reference.npz`` beside the archive holds
  an input and Paddle's own output for it (does the converted model compute the same?).

    .cache/venv-official/bin/python tools/models/tiny_paddle_models.py OUT_DIR
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
from pathlib import Path

LAYOUT_NAME = "RT-DETR-H_layout_3cls"
DET_NAME = "PP-OCRv4_mobile_seal_det"
REC_NAME = "PP-OCRv4_mobile_rec"
LAYOUT_HW = (64, 64)
DICTIONARY = [chr(0x4E00 + i) for i in range(6623)]  # as many as ppocr_keys_v1
DICTIONARY_V5 = [chr(0x4E00 + i) for i in range(18383)]  # as many as ppocrv5_dict
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
# PP-DocLayout's 23 classes (seal is 16) and PP-DocLayout_plus-L's 20, as PaddleX lists them
DOCLAYOUT_LABELS = [
    "paragraph_title", "image", "text", "number", "abstract", "content", "figure_title",
    "formula", "table", "table_title", "reference", "doc_title", "footnote", "header",
    "algorithm", "footer", "seal", "chart_title", "chart", "formula_number", "header_image",
    "footer_image", "aside_text",
]  # fmt: skip
DOCLAYOUT_PLUS_LABELS = [
    "paragraph_title", "image", "text", "number", "abstract", "content", "figure_title",
    "formula", "table", "reference", "doc_title", "footnote", "header", "algorithm", "footer",
    "seal", "chart", "formula_number", "aside_text", "reference_content",
]  # fmt: skip
# name -> (network kind, labels or dictionary); every archive build() writes
ARCHIVES = {
    LAYOUT_NAME: ("detr", ["image", "table", "seal"]),
    "PP-DocLayout-L": ("detr", DOCLAYOUT_LABELS),
    "PP-DocLayout_plus-L": ("detr", DOCLAYOUT_PLUS_LABELS),
    "PP-DocLayout-S": ("picodet", DOCLAYOUT_LABELS),
    DET_NAME: ("det", None),
    "PP-OCRv4_server_seal_det": ("det", None),
    REC_NAME: ("rec", DICTIONARY),
    "PP-OCRv4_server_rec": ("rec", DICTIONARY),
    "PP-OCRv5_mobile_rec": ("rec", DICTIONARY_V5),
    "PP-LCNet_x0_25_textline_ori": ("cls", ["0_degree", "180_degree"]),
    "PP-LCNet_x1_0_doc_ori": ("doc_ori", ["0", "90", "180", "270"]),
    "UVDoc": ("uvdoc", None),
}
UVDOC_INNER_HW = (71, 49)  # UVDoc resizes every page to 712 x 488 inside the network


def _network(kind: str, labels: list[str] | None):
    """(network, input spec) of one kind; the layout's one box per image is of class ``seal``."""
    import paddle

    seal = float(labels.index("seal")) if kind in ("detr", "picodet") else 0.0

    def page_box(score, page_hw):
        zeros = paddle.zeros_like(score)
        boxes = paddle.stack(
            [zeros + seal, score, zeros, zeros, page_hw[:, 1], page_hw[:, 0]], axis=1
        )
        return boxes, paddle.ones_like(score).astype("int32")

    class Detr(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 1, 3, padding=1)

        def forward(self, im_shape, image, scale_factor):
            score = paddle.nn.functional.sigmoid(self.conv(image).mean(axis=[1, 2, 3]))
            return page_box(score, im_shape / scale_factor)  # (h, w) of the page

    class PicoDet(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 1, 3, padding=1)

        def forward(self, image, scale_factor):
            score = paddle.nn.functional.sigmoid(self.conv(image).mean(axis=[1, 2, 3]))
            input_hw = paddle.to_tensor([list(LAYOUT_HW)], dtype="float32")
            return page_box(score, input_hw / scale_factor)

    class Det(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 1, 3, padding=1)

        def forward(self, x):
            return paddle.nn.functional.sigmoid(self.conv(x))

    class Rec(paddle.nn.Layer):
        def __init__(self, classes: int):
            super().__init__()
            self.fc = paddle.nn.Linear(3, classes)

        def forward(self, x):
            pooled = paddle.nn.functional.avg_pool2d(x, kernel_size=(48, 8), stride=(48, 8))
            steps = pooled.squeeze(2).transpose([0, 2, 1])  # [N, W/8, 3]
            return paddle.nn.functional.softmax(self.fc(steps), axis=-1)

    class UVDoc(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            conv = paddle.nn.Conv2D
            self.head = conv(3, 8, 5, padding=2, padding_mode="reflect", bias_attr=False)
            self.norm = paddle.nn.BatchNorm2D(8)
            self.act = paddle.nn.PReLU()
            self.down = conv(8, 8, 5, stride=2, padding=2)
            self.bridge = conv(8, 8, 3, padding=2, dilation=2)
            self.grid = conv(16, 2, 5, padding=2, padding_mode="reflect")

        def forward(self, image):
            height, width = paddle.shape(image)[2], paddle.shape(image)[3]
            functional = paddle.nn.functional
            x = functional.interpolate(
                image, size=list(UVDOC_INNER_HW), mode="bilinear", align_corners=True
            )
            x = self.act(self.down(self.act(self.norm(self.head(x)))))
            grid = paddle.tanh(self.grid(paddle.concat([self.bridge(x), x], axis=1)))
            grid = functional.interpolate(
                grid, size=[height, width], mode="bilinear", align_corners=True
            )
            return functional.grid_sample(image, grid.transpose([0, 2, 3, 1]), align_corners=True)

    class Cls(paddle.nn.Layer):
        def __init__(self, classes: int):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 4, 3, padding=1)
            self.fc = paddle.nn.Linear(4, classes)

        def forward(self, x):
            pooled = self.conv(x).mean(axis=[2, 3])  # [N, 4]
            return paddle.nn.functional.softmax(self.fc(pooled), axis=-1)

    class DocOri(paddle.nn.Layer):
        """Page orientation whose answer is fixed: class ``fixed`` (180 degrees) wins."""

        def __init__(self, fixed: int):
            super().__init__()
            self.fc = paddle.nn.Linear(3, 4)
            self.bias = paddle.to_tensor([[0.0, 0.0, 0.0, 0.0]])
            self.bias[0, fixed] = 100.0

        def forward(self, x):
            logits = self.fc(x.mean(axis=[2, 3])) * 0.0 + self.bias
            return paddle.nn.functional.softmax(logits, axis=-1)

    spec = paddle.static.InputSpec
    image = spec([None, 3, *LAYOUT_HW], "float32", "image")
    scale_factor = spec([None, 2], "float32", "scale_factor")
    if kind == "detr":
        return Detr(), [spec([None, 2], "float32", "im_shape"), image, scale_factor]
    if kind == "picodet":
        return PicoDet(), [image, scale_factor]
    if kind == "det":
        return Det(), [spec([None, 3, None, None], "float32", "x")]
    if kind == "cls":
        return Cls(len(labels)), [spec([None, 3, 80, 160], "float32", "x")]
    if kind == "uvdoc":
        return UVDoc(), [spec([None, 3, None, None], "float32", "image")]
    if kind == "doc_ori":
        return DocOri(labels.index("180")), [spec([None, 3, 224, 224], "float32", "x")]
    return Rec(len(labels) + 2), [spec([None, 3, 48, None], "float32", "x")]


def _config(name: str, kind: str, labels: list[str] | None) -> dict:
    if kind in ("detr", "picodet"):
        detr = kind == "detr"
        norm = ({"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "norm_type": "none"}
                if detr else {**IMAGENET})  # fmt: skip
        config = {
            "Global": {"model_name": name},
            "Preprocess": [
                {"type": "Resize", "target_size": list(LAYOUT_HW), "keep_ratio": False,
                 "interp": 2},
                {"type": "NormalizeImage", **norm, "is_scale": True},
                {"type": "Permute"},
            ],
            "label_list": labels,
            "arch": "DETR" if detr else "PicoDet",
            "draw_threshold": 0.5,
        }  # fmt: skip
        if name.startswith("PP-DocLayout"):  # what PaddleX's PP-DocLayout ymls add
            config.update(layout_nms=True, layout_unclip_ratio=[1.0, 1.0],
                          layout_merge_bboxes_mode="large")  # fmt: skip
        return config
    if kind == "uvdoc":  # as PaddleX's UVDoc yml: /255 in, x 255 out
        return {
            "Global": {"model_name": name},
            "PreProcess": {"transform_ops": [
                {"NormalizeImage": {"scale": "1./255.", "mean": [0, 0, 0], "std": [1, 1, 1]}},
                {"ToCHWImage": None},
            ]},
            "PostProcess": {"name": "DocTrPostProcess", "scale": 255.0},
        }  # fmt: skip
    if kind == "doc_ori":  # PP-LCNet_x1_0_doc_ori's inference.yml (PaddleClas)
        return {
            "Global": {"model_name": name},
            "PreProcess": {"transform_ops": [
                {"ResizeImage": {"resize_short": 256}},
                {"CropImage": {"size": 224}},
                {"NormalizeImage": {**IMAGENET, "channel_num": 3, "order": "",
                                    "scale": 0.00392156862745098}},
                {"ToCHWImage": None},
            ]},
            "PostProcess": {"Topk": {"topk": 1, "label_list": labels}},
        }  # fmt: skip
    if kind == "cls":  # PP-LCNet_x0_25_textline_ori's inference.yml
        return {
            "Global": {"model_name": name},
            "PreProcess": {"transform_ops": [
                {"ResizeImage": {"size": [160, 80]}},
                {"NormalizeImage": {**IMAGENET, "channel_num": 3, "order": "",
                                    "scale": 0.00392156862745098}},
                {"ToCHWImage": None},
            ]},
            "PostProcess": {"Topk": {"topk": 1, "label_list": labels}},
        }  # fmt: skip
    if kind == "det":
        return {
            "Global": {"model_name": name},
            "PreProcess": {"transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetResizeForTest": {"resize_long": 736}},
                {"NormalizeImage": {**IMAGENET, "scale": "1./255.", "order": "hwc"}},
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape"]}},
            ]},
            "PostProcess": {"name": "DBPostProcess", "thresh": 0.2, "box_thresh": 0.6,
                            "max_candidates": 1000, "unclip_ratio": 0.5, "box_type": "poly"},
        }  # fmt: skip
    return {
        "Global": {"model_name": name},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"RecResizeImg": {"image_shape": [3, 48, 320]}},
            {"KeepKeys": {"keep_keys": ["image"]}},
        ]},
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": labels},
    }  # fmt: skip


def build(out_dir: Path, only: list[str] | None = None) -> list[Path]:
    """Write ``<name>_infer.tar`` for every name of ``ARCHIVES`` (or of ``only``)."""
    import paddle
    import yaml

    paddle.seed(0)
    out_dir.mkdir(parents=True, exist_ok=True)
    archives = []
    for name in only or list(ARCHIVES):
        kind, labels = ARCHIVES[name]
        network, input_spec = _network(kind, labels)
        network.eval()
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = Path(tmp) / f"{name}_infer"
            paddle.jit.save(network, str(model_dir / "inference"), input_spec=input_spec)
            (model_dir / "inference.yml").write_text(
                yaml.safe_dump(_config(name, kind, labels), allow_unicode=True, sort_keys=False),
                "utf-8",
            )
            if kind == "uvdoc":  # Paddle's own output for one page, to compare conversions with
                import numpy as np

                page = np.random.default_rng(0).uniform(0, 1, (1, 3, 90, 70)).astype("float32")
                expected = network(paddle.to_tensor(page)).numpy()
                np.savez(out_dir / f"{name}_reference.npz", image=page, expected=expected)
            archive = out_dir / f"{name}_infer.tar"
            with tarfile.open(archive, "w") as tar:
                for file in sorted(model_dir.iterdir()):
                    if file.name.startswith("inference."):
                        tar.add(file, arcname=f"{name}_infer/{file.name}")
        archives.append(archive)
    return archives


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("names", nargs="*", help=f"some of {list(ARCHIVES)} (default: all)")
    args = parser.parse_args(argv)
    for archive in build(args.out_dir, args.names or None):
        print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
