//! Calibration inputs from folders: `.npy` files (named after inputs, one sample per file, or
//! batches) and images with `--preprocess` (resize, center-crop, mean/std, NCHW/NHWC).

use npyz::WriterBuilder;
use qcc::calib_inputs::{load_samples, CalibInputError, Layout, Preprocess};
use qcc_ir::{Graph, Tensor};
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qcc-calib-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn graph(inputs: &str, body: &str) -> Graph {
    qcc_ir::parse::parse(&format!("graph @g phase=imported {{\n{inputs}\n{body}\n}}\n")).unwrap()
}

fn write_npy(path: &std::path::Path, t: &Tensor) {
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    let f = std::fs::File::create(path).unwrap();
    let mut w =
        npyz::WriteOptions::new().default_dtype().shape(&shape).writer(f).begin_nd().unwrap();
    w.extend(t.as_f32().unwrap().iter().copied()).unwrap();
    w.finish().unwrap();
}

#[test]
fn npy_folder_one_sample_per_file_with_or_without_batch_dim() {
    let g = graph("  input %x: f32[1,2]", "  %0 = Relu(%x) : f32[1,2] \"r\"\n  output \"y\" = %0");
    let d = dir("npy1");
    write_npy(&d.join("b.npy"), &Tensor::f32(&[2], vec![3.0, 4.0]));
    write_npy(&d.join("a.npy"), &Tensor::f32(&[1, 2], vec![1.0, 2.0]));
    // [M, 1, 2]: a batch of two samples.
    write_npy(&d.join("c.npy"), &Tensor::f32(&[2, 1, 2], vec![5.0, 6.0, 7.0, 8.0]));
    std::fs::write(d.join("notes.txt"), "ignored").unwrap();
    let s = load_samples(&g, &d, None).unwrap();
    let got: Vec<Vec<f32>> = s.iter().map(|x| x[0].as_f32().unwrap().to_vec()).collect();
    assert_eq!(got, vec![vec![1., 2.], vec![3., 4.], vec![5., 6.], vec![7., 8.]]);
    assert!(s.iter().all(|x| x[0].shape == vec![1, 2]));
    // A sample of the wrong shape is an error naming the file.
    write_npy(&d.join("d.npy"), &Tensor::f32(&[3], vec![1.0, 2.0, 3.0]));
    let e = load_samples(&g, &d, None).unwrap_err().to_string();
    assert!(e.contains("d.npy"), "{e}");
}

#[test]
fn npy_folder_named_after_inputs() {
    let g = graph(
        "  input %a: f32[1,2]\n  input %b: f32[1,2]",
        "  %0 = Add(%a, %b) : f32[1,2] \"s\"\n  output \"y\" = %0",
    );
    let d = dir("npy2");
    write_npy(&d.join("a.npy"), &Tensor::f32(&[2, 1, 2], vec![1., 2., 3., 4.]));
    write_npy(&d.join("b.npy"), &Tensor::f32(&[2, 1, 2], vec![5., 6., 7., 8.]));
    let s = load_samples(&g, &d, None).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[1][0].as_f32().unwrap(), &[3., 4.]);
    assert_eq!(s[1][1].as_f32().unwrap(), &[7., 8.]);
    // Missing a file for an input of a two-input model: a clear error.
    std::fs::remove_file(d.join("b.npy")).unwrap();
    let e = load_samples(&g, &d, None).unwrap_err().to_string();
    assert!(e.contains("2 inputs"), "{e}");
}

#[test]
fn preprocess_spec_parses_and_rejects_bad_keys() {
    let p = Preprocess::parse("imagenet,layout=nhwc").unwrap();
    assert_eq!((p.resize, p.crop, p.layout), (Some(256), Some(224), Layout::Nhwc));
    assert_eq!(p.mean, [0.485, 0.456, 0.406]);
    let p = Preprocess::parse("resize=8,crop=4,mean=0.5,std=0.25,raw").unwrap();
    assert_eq!((p.mean, p.std, p.raw), ([0.5; 3], [0.25; 3], true));
    for bad in ["resize=0", "mean=1:2", "std=0", "layout=chw", "zoom=2", "crop=x"] {
        assert!(
            matches!(Preprocess::parse(bad), Err(CalibInputError::Spec(_))),
            "{bad} should be rejected"
        );
    }
}

/// A 6×4 (w×h) image whose pixel (x, y) is (10x, 20y, 7).
fn test_image() -> image::RgbImage {
    image::RgbImage::from_fn(6, 4, |x, y| image::Rgb([10 * x as u8, 20 * y as u8, 7]))
}

#[test]
fn preprocess_crops_normalizes_and_lays_out() {
    let img = test_image();
    // Centre crop 2×2 of a 6×4 image: x in 2..4, y in 1..3.
    let p = Preprocess {
        crop: Some(2),
        mean: [0.0, 0.1, 0.0],
        std: [1.0, 0.5, 2.0],
        ..Preprocess::default()
    };
    let t = p.apply(&img);
    assert_eq!(t.shape, vec![1, 3, 2, 2]);
    let v = t.as_f32().unwrap();
    let r = |x: f32| x / 255.0;
    // Channel 0 (red = 10x): rows y=1,2 → [20, 30, 20, 30].
    for (a, b) in v[0..4].iter().zip([r(20.), r(30.), r(20.), r(30.)]) {
        assert!((a - b).abs() < 1e-6);
    }
    // Channel 1 (green = 20y): (g/255 − 0.1) / 0.5.
    let g1 = (r(20.) - 0.1) / 0.5;
    let g2 = (r(40.) - 0.1) / 0.5;
    for (a, b) in v[4..8].iter().zip([g1, g1, g2, g2]) {
        assert!((a - b).abs() < 1e-6);
    }
    // NHWC puts the three channels of a pixel together.
    let p2 = Preprocess { layout: Layout::Nhwc, ..p.clone() };
    let t2 = p2.apply(&img);
    assert_eq!(t2.shape, vec![1, 2, 2, 3]);
    let v2 = t2.as_f32().unwrap();
    assert_eq!(&v2[0..3], &[v[0], v[4], v[8]]);
    // Resizing the shorter side: 6×4 → 3×2 (w×h) for resize=2.
    let p3 = Preprocess { resize: Some(2), ..Preprocess::default() };
    assert_eq!(p3.apply(&img).shape, vec![1, 3, 2, 3]);
}

#[test]
fn image_folder_needs_preprocess_and_gives_one_sample_per_image() {
    let g = graph(
        "  input %x: f32[1,3,2,2]",
        "  %0 = Relu(%x) : f32[1,3,2,2] \"r\"\n  output \"y\" = %0",
    );
    let d = dir("img");
    test_image().save(d.join("b.png")).unwrap();
    test_image().save(d.join("a.png")).unwrap();
    let e = load_samples(&g, &d, None).unwrap_err().to_string();
    assert!(e.contains("--preprocess"), "{e}");
    let p = Preprocess::parse("crop=2").unwrap();
    let s = load_samples(&g, &d, Some(&p)).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0][0], p.apply(&test_image()));
    // A crop that does not fit the input's shape is an error naming the image.
    let p = Preprocess::parse("crop=3").unwrap();
    let e = load_samples(&g, &d, Some(&p)).unwrap_err().to_string();
    assert!(e.contains("a.png"), "{e}");
}
