import pytest


@pytest.fixture
def learn_page(open_page):
    return open_page("page_scripts/learn.py")


def show(at, lesson_number):
    radio = at.radio(key="learn_lesson")
    radio.set_value(radio.options[lesson_number - 1]).run()
    assert not at.exception, at.exception
    return at


def test_lesson_1_shows_ae_vae_and_pca_and_decodes_a_typed_point(learn_page):
    at = learn_page
    assert not at.exception and at.title[0].value == "Learn"
    assert len(at.radio(key="learn_lesson").options) == 6
    assert at.header[0].value == "1. Autoencoder vs VAE"
    assert len(at.get("plotly_chart")) == 3 and len(at.image) == 2
    assert at.number_input(key="l1_AE_z1") and at.number_input(key="l1_VAE_z2")
    assert at.image[1].captions[0].startswith("decoded at (")
    at.number_input(key="l1_VAE_z1").set_value(2.5).run()
    assert not at.exception
    caption = at.image[1].captions[0]
    assert caption.startswith("decoded at (2.50, ") and "distance" in caption


def test_lesson_2_elbo_adds_up_with_iwae(learn_page):
    at = show(learn_page, 2)
    assert at.select_slider(key="l2_k").value == 100
    latex = " ".join(str(l.value) for l in at.latex)
    assert "IWAE" in latex and "ELBO" in latex
    at.button(key="l2_redraw").click().run()
    assert not at.exception


def test_lesson_3_kl_follows_the_sliders(learn_page):
    at = show(learn_page, 3)
    at.slider(key="l3_mu").set_value(0.0).run()
    at.slider(key="l3_sigma").set_value(1.0).run()
    assert at.metric[0].value == "0.000 nats"
    at.slider(key="l3_mu").set_value(2.0).run()
    assert at.metric[0].value == "2.000 nats"


def test_lesson_4_gradient_reaches_the_encoder_only_with_the_trick(learn_page):
    at = show(learn_page, 4)
    text = " ".join(str(m.value) for m in at.markdown)
    assert "**None** when z is sampled directly" in text
    assert len(at.get("plotly_chart")) == 2


def test_lesson_5_compares_the_gaussian_runs(learn_page):
    at = show(learn_page, 5)
    assert at.selectbox(key="l5_family").value.startswith("digits · mlp · d=2")
    assert any("c = 0.1" in str(m.value) for m in at.markdown) and any("c = 1" in str(m.value) for m in at.markdown)
    assert at.button(key="l5_retrain")
    assert len(at.get("plotly_chart")) == 3  # two latent maps and the trade-off plot



def test_every_lesson_explains_what_it_needs_when_there_is_no_model(open_page, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_ASSETS_MODELS_DIR", str(tmp_path / "no-assets"))
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "no-runs"))
    at = open_page("page_scripts/learn.py")
    needs = []
    for n in range(1, 7):
        show(at, n)
        needs.append(" ".join(i.value for i in at.info))
        if n == 3:
            assert at.metric  # the KL lesson needs no model
    assert "2-D VAE and a 2-D AE" in needs[0]
    assert "needs a VAE" in needs[1] and "needs a VAE" in needs[3]
    assert "No Gaussian-decoder VAEs" in needs[4]
    assert "needs a β sweep" in needs[5]
