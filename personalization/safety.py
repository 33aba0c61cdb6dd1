"""The output safety check: the worker looks at every generated variation before anyone can see it.

Two detectors whose weights ship inside their wheels, run with onnxruntime on the CPU, offline (they
are built from the packaged model files, so nothing is ever downloaded):

- nudity: NudeNet's detector (``nudenet/320n.onnx``); a picture is unsafe when one of
  ``SAFETY_UNSAFE_LABELS`` scores at least ``SAFETY_THRESHOLD``;
- text: RapidOCR's PP-OCR models read the picture, and the words found go through the same content
  policy as the customer's description (global and brand banned terms, third-party trademarks, the
  brand's allow-list).

The decisions (``nudity_findings``, ``text_violations``) are plain functions of the detectors' raw
output, so tests run the real decision code on injected detections. The detectors load once per
worker process (``get_checker``). Only the worker imports this module's detectors: nothing on the
web path loads onnxruntime, and importing this module loads nothing.
"""

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.exceptions import ImproperlyConfigured
from PIL import Image, ImageDraw, ImageFont

from . import policy
from .conf import conf

logger = logging.getLogger(__name__)

OFF_WARNING = (
    "PERSONALIZATION['SAFETY_CHECK'] is OFF: generated designs are stored and shown WITHOUT the "
    "nudity and text check. Set PERSONALIZATION_SAFETY_CHECK=true before serving customers."
)
TEXT_OFF_WARNING = (
    "PERSONALIZATION['TEXT_CHECK'] is off: text in generated designs is not read (no trademark or "
    "banned-term check on the pictures)."
)
OCR_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}
SELF_TEST_WORD = "SAFETY 42"


class SafetyUnavailable(Exception):
    """The checker could not load or run: nothing may be shown unchecked."""


# --- decisions (pure functions of the detectors' output) ------------------------------------------


def nudity_detections(raw: Iterable[dict]) -> list[dict]:
    """NudeNet's detections ({"class", "score", "box"}) as {"label", "score", "box"}, best first."""
    found = [
        {
            "label": str(d["class"]),
            "score": round(float(d["score"]), 4),
            "box": [int(v) for v in d.get("box", [])],
        }
        for d in raw
    ]
    return sorted(found, key=lambda d: -d["score"])


def nudity_findings(detections: Iterable[dict], *, labels: Iterable[str], threshold: float) -> list[dict]:
    """The detections that make a picture unsafe: an unsafe label scored at or above the threshold."""
    unsafe = set(labels)
    return [d for d in detections if d["label"] in unsafe and d["score"] >= threshold]


def brand_terms(brand) -> dict:
    """The policy lists for a brand's requests: the same ones the submit path applies."""
    return policy.brand_lists(brand)


def text_violations(lines: Iterable[dict], *, min_score: float, terms: dict) -> list[policy.Violation]:
    """Banned terms and other companies' marks spelled by the text read (lines joined in reading
    order, so a mark broken over two lines is still found); the brand's own marks pass."""
    text = " ".join(line["text"] for line in lines if line["score"] >= min_score)
    if not text.strip():
        return []
    return policy.check_texts({"text in the picture": text}, **terms)


def describe(violations: Iterable[policy.Violation]) -> str:
    """“Nike” (a trademark), “nude” (a banned term)"""
    kinds = {"trademark": "a trademark", "banned_term": "a banned term", "protected_name": "a protected name"}
    return ", ".join(f"“{v.term}” ({kinds.get(v.code, v.code)})" for v in violations)


@dataclass(frozen=True)
class Verdict:
    """What the check found in one picture."""

    detections: list[dict] = field(default_factory=list)  # every nudity detection
    unsafe: list[dict] = field(default_factory=list)  # those that make the picture unsafe
    text: list[dict] = field(default_factory=list)  # lines read: {"text", "score"}
    violations: list[policy.Violation] = field(default_factory=list)  # policy hits in the text
    seconds: float = 0.0

    @property
    def is_unsafe(self) -> bool:
        return bool(self.unsafe)

    def as_json(self) -> dict:
        return {
            "checked": True,
            "unsafe": self.unsafe,
            "detections": self.detections,
            "text": self.text,
            "text_violations": [{"code": v.code, "term": v.term} for v in self.violations],
            "seconds": round(self.seconds, 3),
        }


UNCHECKED = {"checked": False}


# --- the detectors --------------------------------------------------------------------------------


def nudity_model_path() -> Path:
    if conf.SAFETY_NUDITY_MODEL:
        return Path(conf.SAFETY_NUDITY_MODEL)
    import nudenet  # the package that ships the model (no onnxruntime session yet)

    return Path(nudenet.__file__).parent / "320n.onnx"


def ocr_model_dir() -> Path:
    if conf.SAFETY_OCR_MODEL_DIR:
        return Path(conf.SAFETY_OCR_MODEL_DIR)
    import rapidocr

    return Path(rapidocr.__file__).parent / "models"


def _readable(path: Path) -> Path:
    if not path.is_file():
        raise SafetyUnavailable(f"model file {path} is missing")
    try:
        with path.open("rb") as fh:
            fh.read(16)
    except OSError as exc:
        raise SafetyUnavailable(f"model file {path} cannot be read ({exc})") from None
    return path


def _bgr(image: Image.Image) -> np.ndarray:
    """What NudeNet expects from cv2.imread: an H x W x 3 BGR uint8 array."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


class SafetyChecker:
    """Both detectors, loaded and self-tested once. ``nudity_detector.detect(bgr_array)`` returns
    NudeNet's raw detections and ``ocr(rgb_array)`` RapidOCR's output; tests may replace either."""

    def __init__(self, *, nudity_model: Path, ocr_dir: Path | None):
        started = time.monotonic()
        try:
            from nudenet import NudeDetector

            self.nudity_detector = NudeDetector(model_path=str(_readable(nudity_model)))
            self.ocr = None
            if ocr_dir is not None:
                from rapidocr import RapidOCR

                params = {
                    f"{task}.model_path": str(_readable(ocr_dir / name)) for task, name in OCR_FILES.items()
                }
                self.ocr = RapidOCR(params={"Global.log_level": "error", **params})
        except SafetyUnavailable:
            raise
        except Exception as exc:  # ImportError, an ONNX file that is not a model, ...
            raise SafetyUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self._self_test()
        logger.info(
            "output safety check loaded in %.1f s (nudity: %s; text: %s)",
            time.monotonic() - started,
            nudity_model,
            ocr_dir or "off",
        )

    def _self_test(self) -> None:
        """Run both detectors once: a model that loads but cannot run (or read) fails here, not later."""
        probe = Image.new("RGB", (320, 96), "white")
        ImageDraw.Draw(probe).text(
            (16, 24), SELF_TEST_WORD, font=ImageFont.load_default(size=32), fill="black"
        )
        try:
            self.detect_nudity(probe)
            read = " ".join(line["text"] for line in self.read_text(probe)) if self.ocr else SELF_TEST_WORD
        except Exception as exc:
            raise SafetyUnavailable(f"self-test failed: {type(exc).__name__}: {exc}") from exc
        if self.ocr and "safety" not in policy.normalize(read):
            raise SafetyUnavailable(f"self-test failed: the OCR read {read!r} instead of {SELF_TEST_WORD!r}")

    def detect_nudity(self, image: Image.Image) -> list[dict]:
        return nudity_detections(self.nudity_detector.detect(_bgr(image)))

    def read_text(self, image: Image.Image) -> list[dict]:
        result = self.ocr(np.asarray(image.convert("RGB")))
        texts, scores = getattr(result, "txts", None) or (), getattr(result, "scores", None) or ()
        return [{"text": str(t), "score": round(float(s), 4)} for t, s in zip(texts, scores, strict=False)]

    def check(self, image: Image.Image, *, terms: dict | None) -> Verdict:
        """Nudity always; text only when ``terms`` (the policy lists) are given and OCR is loaded.
        Raises SafetyUnavailable when a detector fails: a picture is never passed unchecked."""
        started = time.monotonic()
        try:
            detections = self.detect_nudity(image)
            lines = self.read_text(image) if self.ocr is not None and terms is not None else []
        except Exception as exc:
            raise SafetyUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return Verdict(
            detections=detections,
            unsafe=nudity_findings(
                detections, labels=conf.SAFETY_UNSAFE_LABELS, threshold=conf.SAFETY_THRESHOLD
            ),
            text=lines,
            violations=text_violations(lines, min_score=conf.TEXT_MIN_SCORE, terms=terms) if lines else [],
            seconds=time.monotonic() - started,
        )


_lock = threading.Lock()
_loaded: tuple[tuple, SafetyChecker] | None = None


def _build() -> tuple[tuple, SafetyChecker]:
    try:
        nudity, ocr = nudity_model_path(), ocr_model_dir() if conf.TEXT_CHECK else None
    except ImportError as exc:
        raise SafetyUnavailable(f"{exc}") from exc
    key = (str(nudity), str(ocr))
    if _loaded is not None and _loaded[0] == key:
        return _loaded
    return key, SafetyChecker(nudity_model=nudity, ocr_dir=ocr)


def get_checker() -> SafetyChecker | None:
    """This process's checker, loaded on first use; None when SAFETY_CHECK is off. Raises
    SafetyUnavailable when it cannot load (tried again on the next call)."""
    global _loaded
    if not conf.SAFETY_CHECK:
        return None
    with _lock:
        _loaded = _build()
        return _loaded[1]


def check_available() -> None:
    """The start check of ``run_gpu_worker``: load both detectors once, or raise ImproperlyConfigured.
    With SAFETY_CHECK off: no check, a loud warning."""
    if not conf.SAFETY_CHECK:
        logger.warning(OFF_WARNING)
        return
    if not conf.TEXT_CHECK:
        logger.warning(TEXT_OFF_WARNING)
    try:
        _build()  # loaded and self-tested, then dropped: the supervisor itself checks no pictures
    except SafetyUnavailable as exc:
        raise ImproperlyConfigured(
            f"The output safety check cannot load ({exc}), so the GPU worker will not start. Reinstall "
            "nudenet, rapidocr and onnxruntime or fix PERSONALIZATION['SAFETY_NUDITY_MODEL'] / "
            "['SAFETY_OCR_MODEL_DIR']; only to run without it, set PERSONALIZATION_SAFETY_CHECK=false."
        ) from None
