"""Queue positions and ETAs from the measured throughput of the workers (personalization.eta)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from personalization import eta, lifecycle
from personalization.conf import conf
from personalization.models import GenerationRequest, WorkerHeartbeat
from tests.factories import make_product

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status
Phase = GenerationRequest.Phase


@pytest.fixture
def product():
    return make_product()


def row(product, *, status=Status.SUCCEEDED, ago=60.0, **fields) -> GenerationRequest:
    """A request; a succeeded one finished ``ago`` seconds ago. ``created_at`` may be given."""
    created_at = fields.pop("created_at", None)
    values = {
        "preset": "sd21",
        "width": 512,
        "height": 512,
        "steps": 25,
        "variations": 1,
        "progress_total": fields.get("steps", 25),
    } | fields
    now = timezone.now()
    if status == Status.SUCCEEDED:
        values.setdefault("started_at", now - timedelta(seconds=ago + 10))
        values.setdefault("finished_at", now - timedelta(seconds=ago))
        values.setdefault("phase", Phase.STORING)
    req = GenerationRequest.objects.create(
        product=product,
        brand=product.brand,
        base_color_name="White",
        base_color_hex="#FFFFFF",
        description="a fox",
        seed=1,
        status=status,
        **values,
    )
    if created_at is not None:
        GenerationRequest.objects.filter(pk=req.pk).update(created_at=created_at)
        req.created_at = created_at
    return req


def beat(name: str, *, age: float = 1.0, state=WorkerHeartbeat.State.BUSY):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker=name, host="gpu", pid=1, state=state, started_at=now, last_seen=now - timedelta(seconds=age)
    )


# --- the throughput table -----------------------------------------------------------------------


def test_the_window_takes_the_newest_runs_of_each_configuration(product, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ETA_WINDOW_SIZE": 3, "ETA_WINDOW_HOURS": 1}
    for ago in (10, 20, 30):  # the newest three: 4 s for 2 images
        row(product, ago=ago, variations=2, work_seconds=4.0, gpu_seconds=3.0)
    row(product, ago=40, work_seconds=100.0, gpu_seconds=90.0)  # older than the newest three
    row(product, ago=2 * 3600, work_seconds=500.0)  # outside the hours of the window
    row(product, ago=5, work_seconds=300.0, cache_source=row(product, ago=50, work_seconds=100.0))
    row(product, status=Status.FAILED, work_seconds=700.0)
    row(product, ago=5, steps=4, preset="sd-turbo", work_seconds=0.5, gpu_seconds=0.25)

    table = eta.measure()
    assert table.configs[("sd21", 512, 512, 25)] == (2.0, 0.75)
    assert table.configs[("sd-turbo", 512, 512, 4)] == (0.5, 0.5)
    cost = table.cost(preset="sd21", width=512, height=512, steps=25, variations=3)
    assert (cost.seconds, cost.source, cost.gpu_seconds) == (6.0, "measured", 4.5)


def test_a_configuration_never_measured_is_scaled_from_its_preset_then_from_all(product, settings):
    row(product, work_seconds=2.5, gpu_seconds=2.0)  # sd21, 512x512, 25 steps: 0.1 s per unit
    table = eta.measure()
    # The same preset, another size and step count: scaled by images x pixels x steps.
    other = table.cost(preset="sd21", width=768, height=768, steps=10, variations=2)
    assert other.source == "preset" and other.seconds == pytest.approx(0.1 * 2 * 10 * 2.25)
    assert other.gpu_share == pytest.approx(0.8)
    # Another preset with nothing measured: the rate over all presets.
    turbo = table.cost(preset="sd-turbo", width=512, height=512, steps=4, variations=1)
    assert turbo.source == "all" and turbo.seconds == pytest.approx(0.4)


def test_with_nothing_measured_the_documented_constant_answers(product, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ETA_DEFAULT_SECONDS_PER_STEP": 0.5}
    row(product, status=Status.SUCCEEDED)  # measured before the worker recorded its cost: not used
    cost = eta.measure().cost(preset="sd21", width=1024, height=512, steps=20, variations=1)
    assert cost.source == "default" and cost.seconds == pytest.approx(0.5 * 20 * 2)


def test_live_workers_count_fresh_heartbeats_and_at_least_one():
    assert eta.live_workers() == 1
    beat("gpu:1")
    beat("gpu:2", state=WorkerHeartbeat.State.IDLE)
    beat("gpu:3", age=conf.WORKER_STALE_SECONDS + 30)  # stale
    beat("gpu:4", state=WorkerHeartbeat.State.KILLED)
    assert eta.live_workers() == 2


def test_the_table_is_cached_for_a_few_seconds(product, django_assert_num_queries):
    row(product, work_seconds=2.0)
    with django_assert_num_queries(2):  # the window, the workers
        first = eta.throughput()
    row(product, work_seconds=50.0)
    with django_assert_num_queries(0):
        assert eta.throughput() == first
    cache.delete(eta.CACHE_KEY)  # what ETA_CACHE_SECONDS does once it has passed
    assert eta.throughput().configs[("sd21", 512, 512, 25)] == (26.0, 0.8)


# --- queue position and ETA ---------------------------------------------------------------------


@pytest.fixture
def unbatched(settings):
    """One image per pipeline call: every queued request is a batch of its own."""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "MAX_BATCH_IMAGES": 1}


def queue(product, count: int, **fields) -> list[GenerationRequest]:
    start = timezone.now() - timedelta(minutes=5)
    return [
        row(product, status=Status.QUEUED, created_at=start + timedelta(seconds=i), **fields)
        for i in range(count)
    ]


def test_a_queued_request_waits_for_the_work_ahead_at_each_ones_own_cost(product, django_assert_num_queries):
    row(product, work_seconds=4.0, gpu_seconds=3.0)  # sd21 512x512x25: 4 s per image
    row(product, steps=4, preset="sd-turbo", work_seconds=1.0, gpu_seconds=0.5)
    row(product, width=768, height=768, work_seconds=6.0, gpu_seconds=5.0)
    first, second = queue(product, 2, variations=2)  # 8 s each
    GenerationRequest.objects.filter(pk=second.pk).update(preset="sd-turbo", steps=4, progress_total=4)
    third = queue(product, 1, width=768, height=768)[0]  # its own size: no batch with the first
    GenerationRequest.objects.filter(pk=third.pk).update(created_at=second.created_at + timedelta(seconds=1))
    third.refresh_from_db()
    second.refresh_from_db()
    eta.throughput()  # cached: the wait below reads the queue (one query) and the running rows (one)
    with django_assert_num_queries(2):
        wait = eta.wait_for(third)
    assert wait == eta.Wait(position=3, eta_seconds=8.0 + 2.0 + 6.0)
    with django_assert_num_queries(0):  # the queue's schedule is kept for the other waiting customers
        assert eta.wait_for(first) == eta.Wait(position=1, eta_seconds=8.0)
        assert eta.wait_for(second).position == 2


def test_a_queued_request_that_joins_an_older_batch_waits_for_that_batch(product):
    """The workers run the oldest request with the compatible ones behind it (dynamic batching,
    lifecycle.compatible_waiting): a later request of the same configuration goes ahead of older
    requests of other configurations, and the ETA says so."""
    row(product, work_seconds=4.0, gpu_seconds=3.0)  # sd21 512x512x25: 3 s of GPU, 1 s of the rest
    row(product, width=768, height=768, work_seconds=6.0, gpu_seconds=5.0)
    oldest, other, joins = queue(product, 3)
    GenerationRequest.objects.filter(pk=other.pk).update(width=768, height=768)
    other.refresh_from_db()
    # The batch's pipeline call (2 x 3 s), then the post-processing of the oldest and of itself.
    assert eta.wait_for(joins) == eta.Wait(position=1, eta_seconds=6.0 + 2.0)
    assert eta.wait_for(oldest) == eta.Wait(position=1, eta_seconds=6.0 + 1.0)
    assert eta.wait_for(other) == eta.Wait(position=3, eta_seconds=8.0 + 6.0)
    # A reference image runs alone, and a full batch (MAX_BATCH_IMAGES) takes no more rows.
    plan = lifecycle.batch_plan(
        list(GenerationRequest.objects.filter(status=Status.QUEUED).order_by("created_at")), limit_images=8
    )
    assert [[req.pk for req in batch] for batch in plan] == [[oldest.pk, joins.pk], [other.pk]]
    GenerationRequest.objects.filter(pk=joins.pk).update(reference_sha256="ab" * 32)
    GenerationRequest.objects.filter(pk=oldest.pk).update(variations=4)
    plan = lifecycle.batch_plan(
        list(GenerationRequest.objects.filter(status=Status.QUEUED).order_by("created_at")), limit_images=4
    )
    assert [[req.pk for req in batch] for batch in plan] == [[oldest.pk], [other.pk], [joins.pk]]


def test_the_schedule_counts_down_between_two_readings(product, monkeypatch, unbatched):
    row(product, work_seconds=10.0, gpu_seconds=8.0)
    *_, last = queue(product, 3)
    assert eta.wait_for(last).eta_seconds == 20.0 + 10.0
    clock = eta._clock()
    monkeypatch.setattr(eta, "_clock", lambda: clock + 4)
    del last._wait
    assert eta.wait_for(last).eta_seconds == pytest.approx(26.0, abs=0.2)
    monkeypatch.setattr(eta, "_clock", lambda: clock + 60)  # past it: at least its own cost is left
    del last._wait
    assert eta.wait_for(last).eta_seconds == 10.0


def test_the_workers_speed_now_scales_the_window(product, settings):
    """The newest runs took twice their configuration's median: every cost doubles at once, before
    the medians of the window catch up."""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ETA_SPEED_RUNS": 3}
    for ago in range(100, 160, 10):
        row(product, ago=ago, work_seconds=4.0, gpu_seconds=3.0)
    for ago in (10, 20, 30):
        row(product, ago=ago, work_seconds=8.0, gpu_seconds=6.0)
    table = eta.measure()
    assert table.configs[("sd21", 512, 512, 25)][0] == 4.0
    assert table.speed == 2.0
    assert table.cost(preset="sd21", width=512, height=512, steps=25, variations=1).seconds == 8.0
    assert table.cost(preset="sd21", width=1024, height=1024, steps=25, variations=1).seconds == 32.0


def test_more_live_workers_shorten_the_queue_wait(product, unbatched):
    row(product, work_seconds=10.0, gpu_seconds=8.0)
    *_, last = queue(product, 5)
    one = eta.wait_for(last).eta_seconds
    assert one == 4 * 10.0 + 10.0
    beat("gpu:1")
    beat("gpu:2")
    cache.delete_many([eta.CACHE_KEY, eta.SCHEDULE_KEY])
    del last._wait
    assert eta.wait_for(last).eta_seconds == 4 * 10.0 / 2 + 10.0


def test_running_requests_count_what_is_left_of_them(product):
    row(product, work_seconds=10.0, gpu_seconds=8.0)  # 8 s on the GPU, 2 s of post-processing
    running = row(
        product,
        status=Status.RUNNING,
        worker="gpu:1",
        progress_step=20,
        created_at=timezone.now() - timedelta(hours=1),
    )
    GenerationRequest.objects.filter(pk=running.pk).update(phase=Phase.GENERATING)
    running.refresh_from_db()
    assert eta.wait_for(running) == eta.Wait(0, 8.0 * (5 / 25) + 2.0)
    (waiting,) = queue(product, 1)
    assert eta.wait_for(waiting).eta_seconds == pytest.approx(3.6 + 10.0)

    for phase, left in [(Phase.POSTPROCESSING, 2.0), (Phase.STORING, 1.0)]:
        GenerationRequest.objects.filter(pk=running.pk).update(phase=phase)
        running.refresh_from_db()
        assert eta.wait_for(running).eta_seconds == left
    # A re-seed draws one variation again: its own steps, then its checks.
    GenerationRequest.objects.filter(pk=running.pk).update(phase=Phase.RESEEDING, progress_step=5)
    running.refresh_from_db()
    assert eta.wait_for(running).eta_seconds == pytest.approx(8.0 * 20 / 25 + 2.0)


def test_a_running_request_waits_for_its_batchs_pipeline_and_the_rows_finished_before_it(product):
    row(product, work_seconds=10.0, gpu_seconds=8.0)
    start = timezone.now() - timedelta(minutes=1)
    older, mine, younger = (
        row(
            product,
            status=Status.RUNNING,
            worker="gpu:1",
            phase=Phase.GENERATING,
            created_at=start + timedelta(seconds=i),
        )
        for i in range(3)
    )
    row(product, status=Status.RUNNING, worker="gpu:2", phase=Phase.GENERATING)  # another worker's batch
    # The batch's call: 3 x 8 s of GPU; then the older row's and its own post-processing.
    assert eta.wait_for(mine).eta_seconds == 3 * 8.0 + 2 * 2.0
    assert eta.wait_for(older).eta_seconds == 3 * 8.0 + 2.0
    assert eta.wait_for(younger).eta_seconds == 3 * 8.0 + 3 * 2.0


def test_finished_requests_have_no_position_and_no_eta(product):
    for status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.REJECTED):
        assert eta.wait_for(row(product, status=status)) == eta.Wait(0, None)


# --- the ETA error --------------------------------------------------------------------------------


def test_eta_error_summary_compares_the_eta_given_at_submit_with_the_real_wait(product):
    now = timezone.now()
    for predicted, waited in [(10.0, 10.0), (15.0, 10.0), (5.0, 10.0), (40.0, 20.0), (12.0, 10.0)]:
        created = now - timedelta(minutes=5)
        row(
            product,
            created_at=created,
            finished_at=created + timedelta(seconds=waited),
            started_at=created,
            eta_at_submit=predicted,
        )
    row(product, eta_at_submit=99.0, cache_source=row(product))  # answered from the cache: not counted
    row(product, status=Status.FAILED, eta_at_submit=99.0, finished_at=now)  # no real wait to compare
    row(product, created_at=now - timedelta(days=2), eta_at_submit=1.0)  # before ``since``

    summary = eta.eta_error_summary(since=now - timedelta(hours=1), until=now + timedelta(seconds=1))
    # Errors: 0, 50, 50, 100, 20 percent.
    assert summary == {"count": 5, "median_abs_pct_error": 50.0, "p90_abs_pct_error": 80.0}
    assert eta.eta_error_summary(since=now + timedelta(hours=1)) == {
        "count": 0,
        "median_abs_pct_error": None,
        "p90_abs_pct_error": None,
    }
