//! Images in an S3-compatible bucket: moto's S3 server on loopback stands in
//! for S3 (installed by `.ci/run`; `pip install 'moto[server]'`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{TestApp, free_port};
use crate::media::{JPEG, upload};
use atelier::media::{MediaStore, S3Settings};

const BUCKET: &str = "atelier-media";

struct FakeS3 {
    port: u16,
    child: Child,
}

impl FakeS3 {
    /// `None` (and a loud skip) when moto is not installed.
    async fn start() -> Option<Self> {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            eprintln!(
                "\n*** S3 media tests SKIPPED: moto_server is not installed (pip install 'moto[server]'). ***\n"
            );
            return None;
        };
        let s3 = Self { port, child };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(created) = client.put(s3.url(&format!("/{BUCKET}"))).send().await
                && created.status().is_success()
            {
                return Some(s3);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto_server did not start");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn settings(&self) -> S3Settings {
        S3Settings {
            bucket: BUCKET.into(),
            region: "us-east-1".into(),
            endpoint: Some(self.url("")),
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
        }
    }
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

both_backends! {
    async fn images_go_to_the_bucket_and_are_served_from_it(backend) {
        let Some(mut s3) = FakeS3::start().await else { return };
        let bucket = s3.settings();
        let app = TestApp::spawn_with(backend, move |s| s.media_s3 = Some(bucket)).await;
        let ada = app.verified_user("ada").await;
        let (status, stored) = upload(&app, &ada, "dress.jpg", JPEG).await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");
        let url = stored["url"].as_str().unwrap();
        let name = url.trim_start_matches("/media/");
        let direct = MediaStore::bucket(&s3.settings()).unwrap();
        assert_eq!(direct.get(name).await.unwrap(), JPEG, "the object is in the bucket");
        assert!(!app.database.data_dir().join("media").exists(), "nothing in the local folder");
        let served = app.get(url).await;
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.headers()["content-type"], "image/jpeg");
        assert_eq!(&served.bytes().await.unwrap()[..], JPEG);

        // The bucket goes away: uploads and reads answer 503, nothing half-stored.
        let _ = s3.child.kill();
        let _ = s3.child.wait();
        let (status, body) = upload(&app, &ada, "later.jpg", JPEG).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("service_unavailable")));
        assert_eq!(app.get(url).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
