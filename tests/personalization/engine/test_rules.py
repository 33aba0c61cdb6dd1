"""The engine's input rules (personalization/engine/rules.py): every rule, how the engine applies it,
and that the engine's own check is exactly these rules (the submit service checks the same list:
tests/personalization/test_submit_validation.py)."""

import ast
import inspect

import pytest
from PIL import Image

from personalization.engine import core, rules
from personalization.engine.core import Job, validate_jobs
from personalization.engine.rules import BATCH_RULES, JOB_RULES, RuleBroken, problems

SIZE, STEPS = 64, 4


def job(**kwargs) -> Job:
    kwargs = {"seeds": [1], "steps": STEPS, "width": SIZE, "height": SIZE, **kwargs}
    return Job(**{"prompt": "a red fox on a mug", **kwargs})


def reference() -> Image.Image:
    return Image.new("RGB", (16, 16), (200, 40, 40))


# One job per rule that breaks that rule and no other. The keys must be exactly the rules' names.
BREAKS = {
    "text": [job(prompt=None), job(negative_prompt=b"bytes")],
    "seeds_present": [job(seeds=[])],
    "seed_range": [job(seeds=[-1]), job(seeds=[2**64]), job(seeds=[1.5]), job(seeds=[True])],
    "size": [job(width=100), job(height=4096), job(width=56, height=56), job(width=64.0)],
    "steps": [job(steps=0), job(steps=rules.MAX_STEPS + 1), job(steps=2.5)],
    "guidance": [
        job(guidance_scale=rules.MAX_GUIDANCE + 1),
        job(guidance_scale=-0.5),
        job(guidance_scale=float("nan")),
    ],
    "strength": [job(strength=0), job(strength=1.5), job(strength=float("inf"))],
    "img2img_steps": [
        job(steps=1, strength=0.6, reference_image=reference()),  # the request
        job(steps=2, strength=0.2, reference_image=reference()),
        job(steps=20, strength=0.049, reference_image=reference()),
    ],
    "lora_file": [job(lora_path="/nonexistent/brand.safetensors")],
}
# Batches that break one batch rule (every job in them is fine on its own).
BATCH_BREAKS = {
    "batch_present": [[]],
    "batch_shared": [
        [job(), job(width=128, height=128)],
        [job(), job(steps=5)],
        [job(), job(guidance_scale=3)],
        [job(), job(lora_path=__file__)],
        [job(lora_path=__file__, lora_scale=0.5), job(lora_path=__file__, lora_scale=1.0)],
    ],
    "batch_img2img_alone": [[job(reference_image=reference()), job()]],
}


def test_every_rule_has_its_breaking_jobs():
    assert set(BREAKS) == {rule.name for rule in JOB_RULES}
    assert set(BATCH_BREAKS) == {rule.name for rule in BATCH_RULES}
    assert len({rule.name for rule in (*JOB_RULES, *BATCH_RULES)}) == len(JOB_RULES) + len(BATCH_RULES)


@pytest.mark.parametrize("rule", JOB_RULES, ids=lambda rule: rule.name)
def test_the_engine_refuses_each_job_rule_with_that_rule(rule):
    for bad in BREAKS[rule.name]:
        assert problems(bad) == [rule], bad
        with pytest.raises(RuleBroken) as caught:
            validate_jobs([bad])
        assert caught.value.rule is rule
        assert isinstance(caught.value, ValueError) and str(caught.value) == rule.explain(bad)


@pytest.mark.parametrize("rule", BATCH_RULES, ids=lambda rule: rule.name)
def test_the_engine_refuses_each_batch_rule_with_that_rule(rule):
    for batch in BATCH_BREAKS[rule.name]:
        assert all(problems(each) == [] for each in batch)
        with pytest.raises(RuleBroken) as caught:
            validate_jobs(batch)
        assert caught.value.rule is rule


def test_a_job_breaking_several_rules_reports_each_once():
    bad = job(steps=0, strength=2, width=10, seeds=[], reference_image=reference())
    assert [rule.name for rule in problems(bad)] == ["seeds_present", "size", "steps", "strength"]
    assert problems(job(steps=1, strength=0.5, reference_image=reference()))[0].name == "img2img_steps"


def test_the_lora_rule_asks_the_given_file_check():
    with_lora = job(lora_path="brands/lora/brand.safetensors")
    assert [rule.name for rule in problems(with_lora)] == ["lora_file"]  # no such local file
    assert problems(with_lora, file_exists=lambda name: name == "brands/lora/brand.safetensors") == []


def test_brands_without_a_lora_share_a_call_whatever_their_unused_scale():
    """Two brands without a LoRA, with different lora_scale settings: the worker batches their
    requests together (lifecycle.compatible_waiting compares the scale only with a LoRA)."""
    validate_jobs([job(lora_scale=0.7), job(prompt="a gull", lora_scale=1.0)])
    validate_jobs([job(lora_path=__file__, lora_scale=0.7), job(lora_path=__file__, lora_scale=0.7)])


def test_the_engine_checks_its_input_only_through_the_rules():
    """No other input check hides in the engine: validate_jobs is rules.check_batch, generate calls
    validate_jobs before anything else, and core.py raises no ValueError of its own."""
    tree = ast.parse(inspect.getsource(core))
    raised = [
        node.exc.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and isinstance(node.exc.func, ast.Name)
    ]
    assert "ValueError" not in raised
    validate = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "validate_jobs")
    calls = [
        n.func.id for n in ast.walk(validate) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    ]
    assert calls == ["check_batch"] and core.check_batch is rules.check_batch
    generate = inspect.getsource(core.Engine.generate)
    assert generate.split('"""')[2].strip().startswith("validate_jobs(jobs)")


@pytest.mark.parametrize(
    "accepted",
    [
        job(steps=1),  # the fewest steps
        job(steps=2, strength=0.5, reference_image=reference()),  # exactly one img2img step
        job(steps=1, strength=1.0, reference_image=reference()),
        job(guidance_scale=0, seeds=[2**64 - 1]),
        job(guidance_scale=rules.MAX_GUIDANCE, strength=1e-9),  # strength is unused without a reference
    ],
    ids=["steps=1", "img2img-one-step", "img2img-strength-1", "guidance=0,max-seed", "guidance=max"],
)
def test_the_accepted_side_of_each_boundary_really_runs(engine, accepted):
    assert problems(accepted) == []
    [[image]] = engine.generate([accepted])
    assert image.size == (SIZE, SIZE)


def test_the_largest_size_and_most_steps_are_accepted():
    """Not run (2048 px, 100 steps on the CPU is slow): the rules accept them."""
    assert problems(job(width=2048, height=2048, steps=rules.MAX_STEPS)) == []
    assert problems(job(width=64, height=2048)) == []


def test_the_engine_envelope_is_the_widest_of_the_presets():
    """No preset allows a job the engine refuses, and the engine allows nothing beyond every preset."""
    from personalization.presets import BUILT_IN

    assert rules.MIN_STEPS == min(p.min_steps for p in BUILT_IN.values()) == 1
    assert max(p.max_steps for p in BUILT_IN.values()) == rules.MAX_STEPS
    assert rules.MIN_GUIDANCE == min(p.min_guidance for p in BUILT_IN.values()) == 0
    assert max(p.max_guidance for p in BUILT_IN.values()) == rules.MAX_GUIDANCE
    for preset in BUILT_IN.values():
        for steps in (preset.min_steps, preset.max_steps):
            for guidance in (preset.min_guidance, preset.max_guidance):
                assert problems(job(steps=steps, guidance_scale=guidance)) == [], preset.name
