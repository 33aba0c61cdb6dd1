"""The trained demo model (docs/DEMO_MODEL.md): its data, its tokenizer, its training loop, the
report's measures, and the committed model itself (it loads through the engine as real weights do,
and draws what a caption names)."""

import io
import json
import random
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from django.core.management import call_command
from PIL import Image

from personalization.engine.core import Engine, Job
from personalization.engine.demo import MODEL_DIR, data, report
from personalization.engine.demo import train as demo_train
from personalization.engine.demo.tokenizer import build_demo_tokenizer
from personalization.engine.demo.train import TrainConfig, Trainer, unet_lr
from personalization.quality import delta_e, dominant_colors
from personalization.specs import PaletteColorSpec
from personalization.tokens import token_counter_for

# --- data -------------------------------------------------------------------------------------------


def test_the_same_seed_draws_the_same_design_and_caption():
    a, b, c = data.design(7), data.design(7), data.design(8)
    assert a.caption == b.caption and a.layout == b.layout
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert (a.caption, a.layout) != (c.caption, c.layout)


def test_a_design_shows_the_colours_its_caption_names():
    for seed in range(40):
        design = data.design(seed)
        assert design.layout.fg in design.caption and design.layout.bg in design.caption
        main = dominant_colors(design.image, k=4)
        # The background colour is one of the design's two main colours.
        assert min(delta_e(hex_value, data.COLORS[design.layout.bg]) for hex_value, _ in main[:2]) < 6


def test_held_out_layouts_never_reach_training():
    trained = list(data.training_designs(0, 300, size=64))
    assert len(trained) == 300
    assert not any(data.is_held_out(d.layout) for d in trained)
    held = list(data.held_out_designs(20, size=64))
    assert len(held) == 20 and all(data.is_held_out(d.layout) for d in held)
    assert {d.layout.key() for d in held}.isdisjoint({d.layout.key() for d in trained})


def test_colours_drawn_together_are_far_apart():
    for seed in range(200):
        layout = data.random_layout(random.Random(seed))
        assert delta_e(data.COLORS[layout.fg], data.COLORS[layout.bg]) >= data.MIN_PAIR_DELTA_E


def test_a_palette_caption_names_the_motif_colour_first_and_the_background_last():
    rng = random.Random(3)
    layout = data.Layout(motif="star", count=1, fg="red", bg="navy", style="flat")
    caption = data.palette_caption(layout, rng)
    palette = caption.rsplit(", ", 1)[-1]
    assert palette.startswith("red") and palette.endswith("navy color palette")


# A studio frame as train_demo_model reads them off the catalogue (studio_frames), and a stand-in for
# the tokenizer's count: a word a token.
FRAME = (
    "printed on a black matte paper notebook",
    "full-cover notebook design",
    data.PALETTE_SLOT,
    "product photography with natural lighting",
)


def count_words(text: str) -> int:
    return len(text.split())


def test_a_studio_caption_is_the_customers_words_then_the_frame_with_the_designs_palette():
    layout = data.Layout(motif="star", count=1, fg="red", bg="navy", style="flat")
    kinds = set()
    for seed in range(60):
        caption = data.studio_caption(layout, random.Random(seed), [FRAME], count_words)
        words, _, rest = caption.partition(
            ", printed on a black matte paper notebook, full-cover notebook design"
        )
        assert rest.endswith(", product photography with natural lighting")  # the frame, in order
        if "red" in words:  # the customer named the colours: they lead, any palette may follow
            assert "navy" in words
            kinds.add("colours")
        else:  # no colour in the customer's words: the palette is the design's, motif first
            assert "star" in words
            assert re.fullmatch(r", red(, [a-z ]+)* and navy color palette, product photography.*", rest)
            kinds.add("palette")
    assert kinds == {"colours", "palette"}


def test_a_studio_caption_drops_phrases_whole_from_the_first_that_overflows_the_window():
    long = " ".join(["word"] * 70)
    frame = ("printed on a black matte paper notebook", long, data.PALETTE_SLOT, "high quality")
    for seed in range(10):
        caption = data.studio_caption(data.design(seed).layout, random.Random(seed), [frame], count_words)
        assert caption.endswith(", printed on a black matte paper notebook")
        assert count_words(caption) <= data.CLIP_WINDOW


def test_half_the_training_captions_are_studio_prompts_when_the_catalogue_gives_frames():
    rng = random.Random(0)
    layouts = [data.random_layout(rng) for _ in range(400)]
    plain = [data.training_caption(layout, random.Random(i)) for i, layout in enumerate(layouts)]
    framed = [
        data.training_caption(layout, random.Random(i), [FRAME], count_words)
        for i, layout in enumerate(layouts)
    ]
    assert not any("black matte paper notebook, full-cover notebook design" in c for c in plain)
    share = sum("black matte paper notebook, full-cover notebook design" in c for c in framed) / len(framed)
    assert 0.4 < share < 0.6


# --- tokenizer --------------------------------------------------------------------------------------


def test_known_words_are_one_token_each_and_unknown_ones_fall_back_to_pieces():
    tokenizer = build_demo_tokenizer(data.vocabulary_words())
    ids = tokenizer("a red star on a navy background").input_ids
    assert len(ids) == 2 + 7  # start, seven words, end
    assert tokenizer.convert_ids_to_tokens(ids[1:-1])[2] == "star</w>"
    pieces = tokenizer("zebra").input_ids[1:-1]
    assert len(pieces) > 1
    assert tokenizer.decode(pieces).strip() == "zebra"


@pytest.mark.skipif(not (MODEL_DIR / "model_index.json").exists(), reason="the demo model is not trained")
def test_the_web_token_counter_agrees_with_the_committed_tokenizer():
    from transformers import CLIPTokenizer

    counter = token_counter_for(MODEL_DIR)
    tokenizer = CLIPTokenizer.from_pretrained(MODEL_DIR / "tokenizer")
    for text in ("a red star on a navy background", "two teal hearts, printed on a white cotton t-shirt"):
        assert counter(text) == len(tokenizer(text).input_ids) - 2
    assert counter("yellow polka dots on white, flat style") == 8  # seven words and the comma


# --- training ---------------------------------------------------------------------------------------


def tiny_config(**changes) -> TrainConfig:
    """A training run of seconds at 64 px on 16 designs."""
    return TrainConfig(**{"size": 64, "vae_batch": 2, "vae_crop": 32, "designs": 16, "batch": 4, **changes})


def test_training_writes_a_pipeline_and_resumes_from_its_checkpoint(tmp_path):
    config = tiny_config(minutes=0.15, vae_share=0.5, checkpoint_seconds=0)
    first = Trainer(tmp_path, config, progress=lambda line: None)
    first.run()
    steps = (first.state["vae_step"], first.state["unet_step"])
    assert steps[0] > 0 and steps[1] > 0
    assert (tmp_path / "model_index.json").exists() and (tmp_path / "checkpoint.pt").exists()
    summary = json.loads((tmp_path / "training.json").read_text())
    assert (summary["vae_steps"], summary["unet_steps"]) == steps
    # A longer budget on the same folder goes on from the checkpoint, not from scratch.
    lines = []
    again = Trainer(tmp_path, TrainConfig(**{**config.__dict__, "minutes": 0.3}), progress=lines.append)
    assert (again.state["vae_step"], again.state["unet_step"]) == steps
    assert any(line.startswith("resumed") for line in lines)
    again.run()
    assert again.state["unet_step"] > steps[1]


def test_training_captions_include_the_catalogues_studio_frames(tmp_path, monkeypatch):
    seen = []
    original = data.studio_caption

    def recording(layout, rng, frames, count_tokens):
        caption = original(layout, rng, frames, count_tokens)
        seen.append((caption, count_tokens(caption)))
        return caption

    monkeypatch.setattr(data, "studio_caption", recording)
    config = tiny_config(minutes=0.1, vae_share=0.3, batch=8, frames=[list(FRAME)])
    trainer = Trainer(tmp_path, config, progress=lambda line: None)
    trainer.run()
    assert seen and all("printed on a black matte paper notebook" in caption for caption, _ in seen)
    for caption, counted in seen:  # the trainer counts with its own tokenizer, start and end excluded
        assert counted == len(trainer.tokenizer(caption).input_ids) - 2 <= data.CLIP_WINDOW
    assert json.loads((tmp_path / "training.json").read_text())["studio_frames"] == 1


def test_the_unet_learning_rate_warms_up_holds_then_falls_to_a_tenth_with_the_clock():
    def lr(steps_done, left, seconds=100.0):
        return unet_lr(
            1.0, steps_done=steps_done, warmup_steps=10, left=left, seconds=seconds, decay_share=0.25
        )

    assert lr(0, 100) == pytest.approx(0.1)  # warm-up: the first step
    assert lr(4, 100) == pytest.approx(0.5)
    assert lr(9, 100) == lr(500, 30) == lr(500, 25) == 1.0  # stable until the last quarter
    assert lr(500, 12.5) == pytest.approx(0.5)  # half way through the decay
    assert lr(500, 0) == lr(500, -3) == pytest.approx(0.1)  # a tenth at the end, never less
    assert lr(2, 5) == pytest.approx(0.2)  # a short phase: the smaller of the two
    assert unet_lr(1.0, steps_done=500, warmup_steps=10, left=0, seconds=0, decay_share=0.25) == 1.0


def test_training_can_go_on_from_a_saved_pipeline_keeping_its_vae(tmp_path):
    config = TrainConfig(
        size=64, minutes=0.1, vae_share=0.5, vae_batch=2, vae_crop=32, designs=16, batch=4, decoder_batch=2
    )
    first = tmp_path / "first"
    Trainer(first, config, progress=lambda line: None).run()
    before = json.loads((first / "training.json").read_text())
    lines = []
    going_on = Trainer(
        tmp_path / "second",
        TrainConfig(**{**config.__dict__, "minutes": 0.05, "init_from": str(first)}),
        progress=lines.append,
    )
    assert any(line.startswith(f"going on from {first}") for line in lines)
    encoder_before = {k: v.clone() for k, v in going_on.vae.encoder.state_dict().items()}
    going_on.run()
    after = json.loads((tmp_path / "second" / "training.json").read_text())
    assert after["vae_steps"] == before["vae_steps"]  # no VAE phase: the latents stay the same
    assert after["unet_steps"] > before["unet_steps"]
    assert after["minutes"] > before["minutes"] == after["continued_from_minutes"]
    assert all(torch.equal(v, going_on.vae.encoder.state_dict()[k]) for k, v in encoder_before.items())


def test_a_resumed_or_continued_run_keeps_the_tokenizer_its_weights_were_trained_with(tmp_path, monkeypatch):
    """The BPE trainer numbers equally frequent word pieces in no fixed order from one process to the
    next; the embeddings belong to the numbering they were trained with."""
    config = TrainConfig(size=64, minutes=0.02, vae_share=1.0, vae_batch=2, vae_crop=32, designs=8, batch=2)
    first = Trainer(tmp_path / "first", config, progress=lambda line: None)
    first.run()
    trained_with = first.tokenizer.get_vocab()
    real_build = demo_train.build_demo_tokenizer

    def renumbered(texts):  # what another process may learn: two pieces' numbers swapped
        tokenizer = real_build(texts)
        model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
        vocab = dict(model["vocab"])
        a, b = sorted((k for k in vocab if not k.startswith("<|")), key=vocab.get)[-2:]  # two merges
        vocab[a], vocab[b] = vocab[b], vocab[a]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        return demo_train.CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)

    monkeypatch.setattr(demo_train, "build_demo_tokenizer", renumbered)
    assert (
        Trainer(tmp_path / "fresh", config, progress=lambda line: None).tokenizer.get_vocab() != trained_with
    )
    resumed = Trainer(tmp_path / "first", config, progress=lambda line: None)
    assert resumed.tokenizer.get_vocab() == trained_with
    going_on = Trainer(
        tmp_path / "second",
        TrainConfig(**{**config.__dict__, "init_from": str(tmp_path / "first")}),
        progress=lambda line: None,
    )
    assert going_on.tokenizer.get_vocab() == trained_with
    going_on.save_pipeline(tmp_path / "second")
    assert StableDiffusionPipeline.from_pretrained(tmp_path / "second").tokenizer.get_vocab() == trained_with


def test_a_saved_pipeline_of_another_size_is_refused(tmp_path):
    config = TrainConfig(size=64, minutes=0.02, vae_share=1.0, vae_batch=2, vae_crop=32, designs=8, batch=2)
    Trainer(tmp_path / "first", config, progress=lambda line: None).save_pipeline(tmp_path / "first")
    with pytest.raises(ValueError, match="made at 64 px"):
        Trainer(
            tmp_path / "second",
            TrainConfig(**{**config.__dict__, "size": 128, "init_from": str(tmp_path / "first")}),
            progress=lambda line: None,
        )


def test_a_checkpoint_of_another_size_is_refused(tmp_path):
    config = TrainConfig(size=64, minutes=0.02, vae_share=1.0, vae_batch=2, vae_crop=32, designs=8, batch=2)
    Trainer(tmp_path, config, progress=lambda line: None)._save()
    with pytest.raises(ValueError, match="made at 64 px"):
        Trainer(tmp_path, TrainConfig(**{**config.__dict__, "size": 128}), progress=lambda line: None)


# --- the report's measures ------------------------------------------------------------------------


def test_colour_hits_find_the_named_colours_and_nothing_else():
    design = data.design(1)
    hits = report.colour_hits(design.image, design.layout.colors)
    assert all(hits.values()), (design.caption, hits)
    grey = Image.new("RGB", (128, 128), "#808080")
    assert report.colour_hits(grey, ("red", "white")) == {"red": False, "white": False}


def test_the_motif_detector_recognises_most_true_designs_and_not_noise():
    detector = report.MotifDetector.fit(per_motif=30)
    held = list(data.held_out_designs(40))
    right = sum(detector.predict(d.image) == d.layout.motif for d in held)
    assert right / len(held) >= 0.7
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8))
    assert detector.predict(noise) in data.MOTIFS  # an answer, never a crash


# --- the committed model ----------------------------------------------------------------------------

needs_model = pytest.mark.skipif(
    not (MODEL_DIR / "model_index.json").exists(), reason="the demo model is not trained"
)


@pytest.fixture(scope="module")
def demo_engine():
    return Engine(str(MODEL_DIR), preset="sd21", device="cpu", dtype="float32")


@needs_model
def test_the_committed_model_is_small_and_loads_through_the_engine(demo_engine):
    size = sum(f.stat().st_size for f in MODEL_DIR.rglob("*") if f.is_file() and f.name != "checkpoint.pt")
    assert size <= 30 * 1024 * 1024
    assert all(f.suffix != ".bin" for f in MODEL_DIR.rglob("*"))  # safetensors only
    pipe = demo_engine.pipeline
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert type(pipe.scheduler).__name__ == "DPMSolverMultistepScheduler"
    assert pipe.unet.config.upcast_attention and pipe.vae.config.scaling_factor > 0


@needs_model
def test_a_red_circle_on_white_is_red_and_white_and_the_same_seed_gives_the_same_pixels(demo_engine):
    job = Job(prompt="a red circle on a white background", seeds=[5], steps=20, width=128, height=128)
    first = demo_engine.generate([job])[0][0]
    second = demo_engine.generate([job])[0][0]
    assert np.array_equal(np.asarray(first), np.asarray(second))
    main = [hex_value for hex_value, share in dominant_colors(first, k=4) if share >= 0.05]
    assert min(delta_e(h, data.COLORS["white"]) for h in main) <= 5, main
    # Over seeds 0-7 the white is CIEDE2000 0.2-0.6 from the named white and the red 7.3-9.0 from
    # the named red: a darker red (#a4242d for #c62828), well inside the report's 15 for "found"
    # (docs/DEMO_MODEL.md). A model that drew orange-red (an earlier one: 17 to 26) fails.
    assert min(delta_e(h, data.COLORS["red"]) for h in main) <= 10, main


@needs_model
def test_the_report_finds_more_of_the_captions_colours_than_of_another_captions(demo_engine):
    result = report.run_report(demo_engine, count=12, steps=10)
    assert result["held_out"] == 12 and len(result["samples"]) == 12
    # The control pairs each design with the next caption: a model that ignored colour words would
    # score the same on both.
    assert result["colour_adherence"] >= result["colour_adherence_shuffled"] + 0.3, result
    text = report.format_report(result)
    assert "Colour adherence" in text and "against the next design's caption (chance)" in text


@needs_model
def test_the_report_scores_whole_storefront_prompts_beside_the_palette_prompts(demo_engine):
    brand = report.Brand(
        name="Sunny",
        palette=[PaletteColorSpec(name="Coral", hex="#FF6F61", role="primary")],
        min_score=50,
        storefront=(("a star, printed on a white cotton t-shirt, coral color palette", "blurry"),),
    )
    result = report.run_report(demo_engine, count=1, steps=5, brands=[brand], per_brand=2)
    [measured] = result["brands"]
    assert measured["designs"] == 2 and measured["storefront"]["designs"] == 1
    assert 0 <= measured["storefront"]["passing"] <= 1 and measured["storefront"]["example"].startswith(
        "a star"
    )
    assert "whole storefront prompts (product, base colour, material, style): " in report.format_report(
        result
    )
    [(name, prompt, image, score, passes)] = result["storefront_samples"]
    assert (name, prompt, passes) == ("Sunny", brand.storefront[0][0], score >= 50)
    assert report.storefront_grid(result["storefront_samples"]).size == (8 * 160, 160 + 48)
    bare = report.run_report(
        demo_engine, count=1, steps=5, brands=[replace(brand, storefront=())], per_brand=1
    )
    assert bare["brands"][0]["storefront"] is None and bare["storefront_samples"] == []
    assert "whole storefront" not in report.format_report(bare)


@needs_model
@pytest.mark.django_db
def test_the_report_command_prints_the_figures_and_writes_its_pictures(tmp_path):
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    call_command(
        "demo_model_report",
        count=2,
        per_brand=1,
        storefront=2,
        steps=2,
        json_path=tmp_path / "report.json",
        grid=tmp_path / "grid.png",
        storefront_grid=tmp_path / "storefront.png",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "Colour adherence" in out.getvalue() and "whole storefront prompts" in out.getvalue()
    figures = json.loads((tmp_path / "report.json").read_text())
    assert [b["storefront"]["designs"] for b in figures["brands"]] == [2, 2]
    # Two brands, two prompts each: one row of four pictures (eight columns).
    assert Image.open(tmp_path / "storefront.png").size == (8 * 160, 160 + 48)
    assert Image.open(tmp_path / "grid.png").size[0] > 0


@pytest.mark.django_db
def test_storefront_prompts_are_built_as_the_studio_builds_them_from_the_brands_products():
    from brand_guides.models import Brand as BrandModel
    from personalization.management.commands.demo_model_report import brands_from_database

    call_command("seed_demo", stdout=io.StringIO())
    brands = brands_from_database(storefront=4)
    assert {b.name for b in brands} == set(BrandModel.objects.values_list("name", flat=True))
    for brand in brands:
        assert len(brand.storefront) == 4
        palette = report.palette_prompt(brand, random.Random(0)).split(", ", 1)[1]
        for prompt, negative in brand.storefront:
            assert palette in prompt and " on a" in prompt  # the palette phrase and a product phrase
            assert "blurry" in negative
    assert all(b.storefront == () for b in brands_from_database())


@pytest.mark.django_db
def test_studio_frames_are_what_the_studio_adds_to_a_customers_words_with_the_palette_left_open():
    from brand_guides.models import Brand as BrandModel
    from personalization.conditioning import brand_spec
    from personalization.hosts import host
    from personalization.management.commands.train_demo_model import studio_frames
    from personalization.prompting import palette_phrase
    from personalization.services import studio_prompts

    call_command("seed_demo", stdout=io.StringIO())
    frames = studio_frames()
    assert all(frame.count(data.PALETTE_SLOT) == 1 for frame in frames)  # every demo brand has a palette
    adapter = host()
    infos = [i for i in adapter.product_infos(adapter.products()) if i.brand_id is not None]
    # Each product in each base colour has a frame (with no material and no style at least) ...
    assert len(frames) >= sum(len(i.base_colors) for i in infos)
    assert len(frames) == len(set(map(tuple, frames)))
    # ... and a studio prompt is the customer's words, then a frame with the brand's palette in its slot.
    info = infos[0]
    brand = BrandModel.objects.get(pk=info.brand_id)
    built = studio_prompts(
        info=info, color=info.base_colors[-1], description="a star", style=None, material=None, brand=brand
    )
    palette = palette_phrase(brand_spec(brand))
    filled = [", ".join(palette if p == data.PALETTE_SLOT else p for p in frame) for frame in frames]
    assert built.prompt.removeprefix("a star, ") in filled
    assert info.base_colors[-1].name.lower() in built.prompt
