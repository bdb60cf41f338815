from hepxai.explain import explainer_names


def test_every_method_is_registered_on_import():
    expected = {
        "lrp",
        "saliency",
        "gradient_x_input",
        "integrated_gradients",
        "gradgam",
        "bernmask",
        "bernmask_p",
        "random",
        "track_pt",
        "impact_parameter",
    }
    assert expected <= set(explainer_names())
