"""The output safety check with its REAL detectors (NudeNet and RapidOCR, ONNX on the CPU) on real
pictures drawn with Pillow; the nudity decision on injected detections; fail-closed start checks;
blurred live previews; the admin banner while the check is off."""

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from personalization import postprocess, safety
from personalization.models import GenerationRequest
from personalization.storage import private_storage
from tests.worker_fixtures import ROOT, database_url_for_workers, wait_until

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
TERMS = {"banned_terms": ["nude", "nsfw"], "trademarks": ["Nike", "Coca-Cola", "Starbucks"], "allowlist": []}


def font(size: int) -> ImageFont.FreeTypeFont:
    """A TrueType font when the machine has DejaVu, else Pillow's built-in scalable font."""
    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size=size)


def lettering(text: str, *, size: int = 512, points: int = 110, color=(20, 20, 20), ground=(240, 230, 200)):
    """Large lettering on a plain ground, shrunk until it fits the picture."""
    image = Image.new("RGB", (size, size), ground)
    draw = ImageDraw.Draw(image)
    while draw.textlength(text, font=font(points)) > size * 0.85:
        points -= 6
    draw.text((size // 14, size // 3), text, font=font(points), fill=color)
    return image


def pattern(size: int = 512, *, soft: bool = False) -> Image.Image:
    """A plain drawn design: stripes, rings and dots, no letters (soft: pale, as behind lettering)."""
    image = Image.new("RGB", (size, size), (250, 244, 230))
    draw = ImageDraw.Draw(image)
    stripe, ring = ((200, 215, 235), (240, 190, 180)) if soft else ((40, 90, 160), (200, 60, 40))
    for i in range(0, size, 24):
        draw.line((0, i, size, i + size // 3), fill=stripe, width=5)
    for r in range(size // 2, 0, -40):
        box = (size // 2 - r, size // 2 - r, size // 2 + r, size // 2 + r)
        draw.ellipse(box, outline=ring, width=8)
    if not soft:
        for x in range(20, size, 60):
            draw.ellipse((x, x // 2, x + 18, x // 2 + 18), fill=(60, 150, 80))
    return image


class FixedDetections:
    """Stands in for NudeNet's detector only: answers the given raw detections in turn (the last one
    repeats). Everything after it (the decision, the verdict) is the real code."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    def detect(self, image):
        assert isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


@pytest.fixture(scope="module")
def checker():
    """One checker built from the packaged models, as a worker process builds it."""
    return safety.SafetyChecker(nudity_model=safety.nudity_model_path(), ocr_dir=safety.ocr_model_dir())


# --- the real detectors on real pictures ----------------------------------------------------------


def test_the_detectors_load_from_their_wheels_and_never_touch_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the safety check tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    models = safety.ocr_model_dir()
    before = sorted(p.name for p in models.iterdir())
    fresh = safety.SafetyChecker(nudity_model=safety.nudity_model_path(), ocr_dir=models)
    verdict = fresh.check(lettering("NIKE"), terms=TERMS)
    assert [v.term for v in verdict.violations] == ["Nike"]
    assert sorted(p.name for p in models.iterdir()) == before  # nothing downloaded next to the models
    packaged = safety.nudity_model_path()
    assert packaged.name == "320n.onnx" and "site-packages" in str(packaged)


def test_a_plain_drawn_pattern_passes(checker):
    verdict = checker.check(pattern(), terms=TERMS)
    assert not verdict.is_unsafe and verdict.unsafe == [] and verdict.violations == []
    record = verdict.as_json()
    assert record["checked"] is True and record["unsafe"] == [] and record["text_violations"] == []


@pytest.mark.parametrize(
    ("text", "code", "term"),
    [("NIKE", "trademark", "Nike"), ("Coca-Cola", "trademark", "Coca-Cola"), ("NUDE", "banned_term", "nude")],
)
def test_text_rendered_in_a_picture_is_read_and_policed(checker, text, code, term):
    verdict = checker.check(lettering(text), terms=TERMS)
    assert any(line["text"].replace(" ", "").lower() == text.lower() for line in verdict.text), verdict.text
    assert [(v.code, v.term) for v in verdict.violations] == [(code, term)]
    assert not verdict.is_unsafe  # text is the brand's call (review or reject), not "unsafe"
    assert verdict.as_json()["text_violations"] == [{"code": code, "term": term}]


def test_a_mark_broken_over_two_lines_on_a_patterned_picture_is_still_read(checker):
    image = pattern(soft=True)
    draw = ImageDraw.Draw(image)
    draw.text((60, 140), "Star", font=font(96), fill=(10, 10, 10))
    draw.text((60, 260), "bucks", font=font(96), fill=(10, 10, 10))
    verdict = checker.check(image, terms=TERMS)
    assert [v.term for v in verdict.violations] == ["Starbucks"], verdict.text


def test_the_brands_own_mark_and_harmless_words_pass(checker):
    own = checker.check(lettering("NIKE"), terms={**TERMS, "allowlist": ["Nike"]})
    assert own.text and own.violations == []
    harmless = checker.check(lettering("SUNNY DAY", points=80), terms=TERMS)
    assert harmless.text and harmless.violations == []


def test_the_tiny_text_threshold_drops_unsure_reads(checker, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "TEXT_MIN_SCORE": 1.01}
    verdict = checker.check(lettering("NIKE"), terms=TERMS)
    assert verdict.text and verdict.violations == []  # read, but below the confidence that counts


def test_text_is_not_read_when_the_text_check_is_off():
    nudity_only = safety.SafetyChecker(nudity_model=safety.nudity_model_path(), ocr_dir=None)
    verdict = nudity_only.check(lettering("NIKE"), terms=TERMS)
    assert verdict.text == [] and verdict.violations == []


# --- the nudity decision on injected detections (the decision code is real) ---------------------


def raw(label: str, score: float) -> dict:
    return {"class": label, "score": score, "box": [10, 20, 30, 40]}


@pytest.mark.parametrize(
    ("detections", "unsafe"),
    [
        ([], []),
        ([raw("FACE_FEMALE", 0.95), raw("FEET_EXPOSED", 0.9)], []),  # not unsafe labels
        ([raw("FEMALE_BREAST_COVERED", 0.92)], []),  # covered
        ([raw("FEMALE_BREAST_EXPOSED", 0.49)], []),  # below the threshold
        ([raw("FEMALE_BREAST_EXPOSED", 0.5)], ["FEMALE_BREAST_EXPOSED"]),  # at it
        ([raw("MALE_GENITALIA_EXPOSED", 0.81), raw("FACE_MALE", 0.9)], ["MALE_GENITALIA_EXPOSED"]),
        ([raw("BUTTOCKS_EXPOSED", 0.7), raw("ANUS_EXPOSED", 0.6)], ["BUTTOCKS_EXPOSED", "ANUS_EXPOSED"]),
        ([raw("FEMALE_GENITALIA_EXPOSED", 0.66)], ["FEMALE_GENITALIA_EXPOSED"]),
    ],
)
def test_the_nudity_decision(checker, monkeypatch, detections, unsafe):
    monkeypatch.setattr(checker, "nudity_detector", FixedDetections(detections))
    verdict = checker.check(pattern(128), terms=None)
    assert [d["label"] for d in verdict.unsafe] == unsafe
    assert verdict.is_unsafe is bool(unsafe)
    assert len(verdict.detections) == len(detections)  # everything found is recorded
    assert all(set(d) == {"label", "score", "box"} for d in verdict.as_json()["detections"])


def test_labels_and_threshold_come_from_the_settings(checker, monkeypatch, settings):
    monkeypatch.setattr(checker, "nudity_detector", FixedDetections([raw("BELLY_EXPOSED", 0.4)]))
    assert not checker.check(pattern(128), terms=None).is_unsafe
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "SAFETY_UNSAFE_LABELS": ["BELLY_EXPOSED"],
        "SAFETY_THRESHOLD": 0.3,
    }
    assert [d["label"] for d in checker.check(pattern(128), terms=None).unsafe] == ["BELLY_EXPOSED"]


def test_a_detector_that_breaks_at_run_time_is_an_error_not_a_pass(checker, monkeypatch):
    class Broken:
        def detect(self, image):
            raise RuntimeError("onnxruntime: bad allocation")

    monkeypatch.setattr(checker, "nudity_detector", Broken())
    with pytest.raises(safety.SafetyUnavailable, match="bad allocation"):
        checker.check(pattern(128), terms=TERMS)


def test_the_real_nudity_detector_runs_on_the_picture(checker):
    """No injected result: NudeNet's own output for harmless pictures, in the recorded shape."""
    for image in (pattern(), lettering("NIKE"), Image.new("RGB", (512, 512), (210, 170, 140))):
        verdict = checker.check(image, terms=None)
        assert not verdict.is_unsafe
        assert all(0 <= d["score"] <= 1 and len(d["box"]) == 4 for d in verdict.detections)


# --- fail closed ----------------------------------------------------------------------------------


def _unload(monkeypatch):
    monkeypatch.setattr(safety, "_loaded", None)  # as a fresh worker process


def test_a_missing_model_file_stops_the_worker_before_it_starts(settings, tmp_path, monkeypatch):
    _unload(monkeypatch)
    missing = tmp_path / "gone" / "320n.onnx"
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SAFETY_NUDITY_MODEL": str(missing)}
    with pytest.raises(safety.SafetyUnavailable, match="missing"):
        safety.get_checker()
    with pytest.raises(ImproperlyConfigured, match=str(missing)):
        safety.check_available()
    with pytest.raises(CommandError, match="output safety check cannot load"):
        call_command("run_gpu_worker")  # refuses before it starts any cluster


def test_an_unreadable_model_or_a_missing_ocr_model_stops_the_worker(settings, tmp_path, monkeypatch):
    _unload(monkeypatch)
    junk = tmp_path / "320n.onnx"
    junk.write_bytes(b"this is not an ONNX model" * 10)
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SAFETY_NUDITY_MODEL": str(junk)}
    with pytest.raises(ImproperlyConfigured, match="safety check cannot load"):
        safety.check_available()

    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "SAFETY_NUDITY_MODEL": "",
        "SAFETY_OCR_MODEL_DIR": str(tmp_path / "no-ocr-models"),
    }
    with pytest.raises(ImproperlyConfigured, match="PP-OCRv6_det_small.onnx is missing"):
        safety.check_available()
    # Without the text check, the OCR models are not needed.
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "TEXT_CHECK": False}
    safety.check_available()


def test_a_missing_package_stops_the_worker(settings, monkeypatch):
    _unload(monkeypatch)
    monkeypatch.setitem(sys.modules, "nudenet", None)  # `import nudenet` now raises ImportError
    with pytest.raises(ImproperlyConfigured, match="nudenet"):
        safety.check_available()


def test_turned_off_it_starts_with_a_loud_warning(settings, tmp_path, monkeypatch, caplog):
    _unload(monkeypatch)
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "SAFETY_CHECK": False,
        "SAFETY_NUDITY_MODEL": str(tmp_path / "missing.onnx"),
    }
    with caplog.at_level(logging.WARNING, logger="personalization.safety"):
        safety.check_available()
    assert safety.get_checker() is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("SAFETY_CHECK'] is OFF" in message for message in warnings)


def _start_worker(env_extra: dict, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url_for_workers(),
        "PYTHONUNBUFFERED": "1",
        **env_extra,
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_gpu_worker", "--sweep-interval", "0.5"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.mark.django_db(transaction=True)
def test_run_gpu_worker_refuses_to_start_without_its_detector_and_starts_when_told_to(tmp_path):
    missing = str(tmp_path / "missing" / "320n.onnx")
    refused_log = tmp_path / "refused.log"
    refused = _start_worker({"PERSONALIZATION_SAFETY_NUDITY_MODEL": missing}, refused_log)
    try:
        assert refused.wait(timeout=120) != 0
    finally:
        _stop(refused)
    output = refused_log.read_text(errors="replace")
    assert "output safety check cannot load" in output and missing in output
    assert "GPU worker:" not in output  # no cluster started

    off_log = tmp_path / "off.log"
    started = _start_worker(
        {"PERSONALIZATION_SAFETY_NUDITY_MODEL": missing, "PERSONALIZATION_SAFETY_CHECK": "false"}, off_log
    )
    try:
        wait_until(
            lambda: "GPU worker:" in off_log.read_text(errors="replace") or started.poll() is not None,
            timeout=120,
            message="the worker to start",
        )
        assert started.poll() is None, off_log.read_text(errors="replace")[-3000:]
    finally:
        _stop(started)
    output = off_log.read_text(errors="replace")
    assert "SAFETY_CHECK'] is OFF" in output and "(OUTPUT SAFETY CHECK OFF)" in output


def test_the_web_path_and_the_start_check_load_no_torch_and_the_web_path_no_detector():
    """Importing the web side (and this module) loads no detector; the supervisor's start check loads
    the detectors but never torch (CUDA must start only in the worker processes)."""
    code = (
        "import json, sys, django; django.setup()\n"
        "import config.urls, personalization.admin, personalization.views\n"
        "from personalization import postprocess, safety, worker\n"
        "from personalization.management.commands import run_gpu_worker\n"
        "heavy = ('onnxruntime', 'nudenet', 'rapidocr', 'cv2', 'torch', 'diffusers')\n"
        "web = sorted(m for m in heavy if m in sys.modules)\n"
        "worker.check_safety()\n"
        "print(json.dumps([web, sorted(m for m in heavy if m in sys.modules)]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    web, after_check = json.loads(result.stdout.strip().splitlines()[-1])
    assert web == []
    assert {"onnxruntime", "nudenet", "rapidocr"} <= set(after_check)
    assert "torch" not in after_check and "diffusers" not in after_check


# --- live previews are blurred --------------------------------------------------------------------


def high_frequency(image: Image.Image) -> float:
    """Mean absolute difference from a slightly blurred copy: detail (edges, text) scores high."""
    grey = image.convert("L")
    a = np.asarray(grey, dtype=np.float32)
    b = np.asarray(grey.filter(ImageFilter.GaussianBlur(2)), dtype=np.float32)
    return float(np.abs(a - b).mean())


@pytest.mark.django_db
def test_a_live_preview_is_stored_blurred_so_no_detail_survives(checker):
    sharp = lettering("NIKE").resize((128, 128), Image.Resampling.LANCZOS)  # a preview-sized picture
    assert [line["text"] for line in checker.read_text(sharp)] == ["NIKE"]  # readable before
    req = GenerationRequest(id=uuid.uuid4())
    name = postprocess.store_preview(req, sharp)
    with private_storage.open(name, "rb") as fh:
        stored = Image.open(io.BytesIO(fh.read())).convert("RGB")
    assert stored.size == sharp.size
    assert checker.read_text(stored) == []  # nothing left to read
    assert high_frequency(stored) < 0.5 < high_frequency(sharp)
    expected = np.asarray(postprocess.blurred(sharp), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(stored, dtype=np.float32), expected, atol=1)

    thumb = postprocess.store_checked_preview(req, lettering("NIKE"), size=128)  # once it passed
    with private_storage.open(thumb, "rb") as fh:
        final = Image.open(io.BytesIO(fh.read())).convert("RGB")
    assert final.size == (128, 128) and high_frequency(final) > 0.5
    postprocess.discard_outputs(req)
    assert not private_storage.exists(name)


# --- the admin shows when the check is off --------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_a_red_banner_while_the_check_is_off(admin_client, settings):
    pages = ["/admin/", "/admin/personalization/generationrequest/"]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200 and b"data-safety-banner" not in response.content
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SAFETY_CHECK": False}
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200
        assert b"data-safety-banner" in response.content and b"output safety check is OFF" in response.content
