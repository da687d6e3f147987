"""config/forms.py's QuickSelect writes a <select> as Django's widget templates do, for
whatever choices, values and attributes a form gives it."""

from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override
from hypothesis import given, settings
from hypothesis import strategies as st

from config.forms import QuickSelect

HOSTILE = st.sampled_from(['<img src=x onerror="alert(1)">', "a & b", "'quoted'", ""])
TEXT = st.one_of(st.text(max_size=12), HOSTILE)
LABEL = st.one_of(
    TEXT,
    TEXT.map(mark_safe),  # a label a form marked safe is written as it is
    st.sampled_from(["Account manager", "Normal", "Not feedback"]).map(gettext_lazy),
)
VALUE = st.one_of(st.none(), TEXT, st.integers(-5, 10**6), TEXT.map(mark_safe))
ATTRIBUTE = st.one_of(st.booleans(), TEXT, st.integers(0, 99))
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["id", "required", "aria-describedby", "aria-invalid", "class", "data-x"]),
    ATTRIBUTE,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    choices=st.lists(st.tuples(VALUE, LABEL), max_size=8),
    value=st.one_of(VALUE, st.lists(VALUE, max_size=3)),
    widget_attrs=ATTRIBUTES,
    attrs=st.one_of(st.none(), ATTRIBUTES),
    name=TEXT,
    language=st.sampled_from(["en", "de"]),
)
def test_quick_select_writes_what_django_writes(
    choices, value, widget_attrs, attrs, name, language
):
    with override(language):
        quick = QuickSelect(attrs=widget_attrs, choices=choices).render(name, value, attrs)
        django = forms.Select(attrs=widget_attrs, choices=choices).render(name, value, attrs)
    assert quick == django


@settings(max_examples=50, deadline=None)
@given(
    groups=st.lists(
        st.tuples(TEXT, st.lists(st.tuples(VALUE, LABEL), max_size=3)), min_size=1, max_size=3
    ),
    value=VALUE,
)
def test_choices_in_groups_are_left_to_django(groups, value):
    quick = QuickSelect(choices=groups).render("pick", value)
    assert quick == forms.Select(choices=groups).render("pick", value)


def test_a_model_fields_choices_are_read_once(world, django_assert_num_queries):
    from accounts.models import Organisation

    field = forms.ModelChoiceField(queryset=Organisation.objects.order_by("pk"), widget=QuickSelect)
    with django_assert_num_queries(1):
        written = field.widget.render("org", world.org_a.pk)
    assert f'<option value="{world.org_a.pk}" selected>{world.org_a}</option>' in written
    assert written == forms.Select(choices=field.choices).render("org", world.org_a.pk)
