import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class CartAddForm(forms.Form):
    product = forms.SlugField()
    base_color = forms.CharField(max_length=40)
    design = forms.IntegerField(required=False, min_value=1)
    quantity = forms.IntegerField(required=False, min_value=1, max_value=99)
    # The customer's text or monogram (personalization/_text_fields.html): only bounded here, the
    # plugin validates it (interface.validate_text_layer).
    text = forms.CharField(required=False, max_length=200, strip=False)
    text_kind = forms.CharField(required=False, max_length=20)
    text_font = forms.CharField(required=False, max_length=40)
    text_color = forms.CharField(required=False, max_length=80)
    text_size = forms.CharField(required=False, max_length=20)
    text_position = forms.CharField(required=False, max_length=20)
    text_curve = forms.CharField(required=False, max_length=20)


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=99)


class CheckoutForm(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=120, widget=forms.TextInput({"autocomplete": "name"})
    )
    email = forms.EmailField(widget=forms.EmailInput({"autocomplete": "email"}))
    address_line1 = forms.CharField(
        label="Address", max_length=200, widget=forms.TextInput({"autocomplete": "address-line1"})
    )
    address_line2 = forms.CharField(
        label="Address line 2 (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput({"autocomplete": "address-line2"}),
    )
    city = forms.CharField(max_length=100, widget=forms.TextInput({"autocomplete": "address-level2"}))
    postcode = forms.CharField(max_length=20, widget=forms.TextInput({"autocomplete": "postal-code"}))
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        min_length=2,
        help_text="Two-letter country code, e.g. GB, DE, US.",
        error_messages={"invalid": "Enter a two-letter country code such as GB or US."},
        widget=forms.TextInput({"autocomplete": "country", "size": 2, "style": "text-transform: uppercase"}),
    )
    checkout_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("checkout_token", uuid.uuid4())

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


class SignupForm(UserCreationForm):
    email = forms.EmailField(widget=forms.EmailInput({"autocomplete": "email"}))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")
