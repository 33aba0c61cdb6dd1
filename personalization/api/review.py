"""The shop's approval of an ordered design over the API: the ``review`` object a host's order line
shows (``personalization.interface.line_review`` gives its values)."""

from rest_framework import serializers

from personalization.models import LineDesign


class LineReviewSerializer(serializers.Serializer):
    """The shop's approval of an ordered design before it is printed (the brand's approval policy):
    approved at checkout under the automatic policy, else waiting until a person at the shop decides."""

    state = serializers.ChoiceField(
        LineDesign.ReviewState.choices,
        help_text="`pending_review` (a person at the shop checks the design before it is printed), "
        "`approved` (it is printed) or `rejected` (it is not printed; see `reason`).",
    )
    reason = serializers.CharField(help_text='Why the shop rejected it; "" unless `rejected`.')
    reviewed_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When it was approved (at checkout under the automatic policy) or rejected; null while "
        "it waits.",
    )
