import pytest


@pytest.fixture
def reconstruct_page(open_page):
    return open_page("page_scripts/reconstruct.py")


def texts(at):
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.subheader])


def test_renders_vae_and_ae_side_by_side_with_terms(reconstruct_page):
    at = reconstruct_page
    assert not at.exception, at.exception
    assert at.title[0].value == "Reconstruct"
    assert at.radio(key="recon_source").options[0] == "Random test images"
    assert at.checkbox(key="recon_compare").value
    assert [s.value for s in at.subheader] == ["VAE · vae-mlp-2d-digits", "AE · ae-mlp-2d-digits"]
    vae_table, ae_table = (df.value for df in at.dataframe)
    assert "−ELBO" in vae_table.columns and any("IWAE" in c for c in vae_table.columns)
    assert list(ae_table.columns) == ["reconstruction −log p(x|z)"]
    assert "mean" in vae_table.index and (vae_table["KL(q(z|x) ‖ p(z))"] >= 0).all()
    iwae = [c for c in vae_table.columns if "IWAE" in c][0]
    assert vae_table.loc["mean", iwae] <= vae_table.loc["mean", "−ELBO"] + 1.0


def test_with_the_ae_selected_the_vae_is_still_on_the_left(reconstruct_page, tiny_runs_dir):
    at = reconstruct_page
    at.sidebar.selectbox[0].set_value(str(tiny_runs_dir / "ae-mlp-2d-digits")).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["VAE · vae-mlp-2d-digits", "AE · ae-mlp-2d-digits"]


def test_images_by_index_and_a_bad_index_list(reconstruct_page):
    at = reconstruct_page
    at.radio(key="recon_source").set_value("By index").run()
    at.text_input(key="recon_indices").set_value("3, 7").run()
    assert not at.exception and not at.error
    rows = list(at.dataframe[0].value.index)
    assert rows[0].startswith("#3 (") and rows[1].startswith("#7 (") and rows[2] == "mean"
    at.text_input(key="recon_indices").set_value("3, 99999").run()
    assert not at.exception
    assert "out of range" in at.error[0].value


def test_one_class_and_no_comparison(reconstruct_page):
    at = reconstruct_page
    at.radio(key="recon_source").set_value("One class").run()
    at.selectbox(key="recon_class").set_value(7).run()
    at.checkbox(key="recon_compare").uncheck().run()
    assert not at.exception
    assert len(at.subheader) == 1
    assert all("(7)" in label for label in at.dataframe[0].value.index[:-1])


def png_bytes(size=(40, 40)):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_upload_is_converted_and_reconstructed(reconstruct_page):
    at = reconstruct_page
    at.radio(key="recon_source").set_value("Upload a PNG or JPEG").run()
    assert "Upload an image" in at.info[0].value
    at.file_uploader(key="recon_upload").set_value(("paper.png", png_bytes((40, 20)), "image/png")).run()
    assert not at.exception and not at.error
    conversion = " ".join(str(c.value) for c in at.caption)
    assert "colour converted to grey" in conversion and "resized to 8×8 pixels" in conversion
    assert any("Invert" in i.value for i in at.info)  # a light image for a model of dark digits
    assert list(at.dataframe[0].value.index) == ["paper.png"]


@pytest.mark.parametrize("name,data,message", [
    ("notes.png", b"this is a text file, not a picture\n", "text file"),
    ("empty.png", b"", "empty"),
])  # fmt: skip
def test_a_bad_upload_shows_an_error_not_a_traceback(reconstruct_page, name, data, message):
    at = reconstruct_page
    at.radio(key="recon_source").set_value("Upload a PNG or JPEG").run()
    at.file_uploader(key="recon_upload").set_value((name, data, "image/png")).run()
    assert not at.exception
    assert message in at.error[0].value and not at.dataframe


def test_shared_reports_follow_every_input(reconstruct_page):
    """The report is cached for every session; a new seed, k or image set must still give its own numbers."""
    at = reconstruct_page
    first = at.dataframe[0].value.copy()
    at.run()
    assert at.dataframe[0].value.equals(first)  # the same inputs: the same (shared) numbers
    at.number_input(key="recon_seed").set_value(7).run()
    reseeded = at.dataframe[0].value
    assert not reseeded.index.equals(first.index) or not reseeded.equals(first)  # other images, other draws
    at.number_input(key="recon_seed").set_value(0).run()
    assert at.dataframe[0].value.equals(first)
    at.number_input(key="recon_iw_samples").set_value(3).run()
    iwae = [c for c in at.dataframe[0].value.columns if "IWAE" in c]
    assert iwae == ["−IWAE (k = 3) ≈ −log p(x)"]
    assert not at.dataframe[0].value[iwae[0]].equals(first[[c for c in first.columns if "IWAE" in c][0]])
