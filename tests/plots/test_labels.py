"""The glossary covers the CMS inputs and orders features by category."""

from hepxai.data.schema import load_schema
from hepxai.plots.labels import GLOSSARY, feature_category, feature_label, grouped_order


def test_every_cms_input_has_a_physics_name_and_a_category():
    for name in load_schema("cms_hbb").features:
        assert feature_label(name) != name
        assert feature_category(name) in GLOSSARY


def test_grouped_order_follows_the_categories_and_puts_unknown_names_last():
    names = ["track_normchi2", "f0", "track_isMu", "track_pt", "trackBTag_Sip3dSig"]
    # kinematics, impact parameter, identity and vertex, track fit, then the unknown name
    assert [names[i] for i in grouped_order(names)] == [
        "track_pt",
        "trackBTag_Sip3dSig",
        "track_isMu",
        "track_normchi2",
        "f0",
    ]
    assert feature_label("f0") == "f0"
    assert feature_category("f0") == "other"
