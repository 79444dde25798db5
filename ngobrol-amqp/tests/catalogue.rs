//! The sentences the original console client shows its users: with the
//! default settings, every reply's `description` and every notice is the
//! original server's Indonesian, word for word
//! (`shared/seed/descriptions.md`); a request may ask for English.

use ngobrol_testkit::TestServer;
use serde_json::json;

#[track_caller]
fn says(reply: &serde_json::Value, description: &str) {
    assert_eq!(reply["description"], description, "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_clients_flow_reads_the_original_sentences() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    says(
        &ana.register("ana", "rahasia!").await,
        "Akun berhasil dibuat.",
    );
    says(
        &ana.register("ana", "rahasia!").await,
        "Username telah dipakai. Silakan cari yang lain.",
    );
    says(
        &ana.login("ana", "salah-sekali").await,
        "Username atau password salah.",
    );
    says(
        &ana.login("nobody", "salah-sekali").await,
        "Username atau password salah.",
    );
    says(&ana.login("ana", "rahasia!").await, "Login berhasil.");
    budi.sign_up("budi").await;

    says(
        &ana.add_friend("ana").await,
        "Kamu tidak bisa menambah dirimu sendiri sebagai teman.",
    );
    says(&ana.add_friend("nobody").await, "Username tidak ada.");
    says(
        &ana.send_client("budi", "halo").await,
        "Kamu bukan teman budi. Jadilah teman dahulu baru ngechat.",
    );
    says(&ana.add_friend("budi").await, "Teman berhasil ditambahkan.");
    says(
        &ana.add_friend("budi").await,
        "Kamu sudah menambahkan budi sebagai teman.",
    );
    let friends = json!({"method": "get_friend", "username": "ana", "token": ana.token()});
    says(&ana.call(friends).await, "Teman berhasil diambil.");
    says(
        &ana.send_client("nobody", "halo").await,
        "Destination user not exists.",
    );
    says(
        &ana.send_client("budi", "halo").await,
        "Message berhasil dikirim",
    );
    assert_eq!(budi.recv().await["message"], "halo");

    let created = ana.create_group("keluarga").await;
    says(&created, "Group berhasil ditambahkan.");
    let gid = created["group_id"].as_i64().unwrap();
    let groups = json!({"method": "get_group", "username": "ana", "token": ana.token()});
    says(&ana.call(groups).await, "Group berhasil diambil");
    says(
        &budi.add_member(gid, "ana").await,
        "Hanya admin yang boleh menambahkan anggota grup ini.",
    );
    says(
        &ana.add_member(gid + 100, "budi").await,
        "Group tidak ditemukan.",
    );
    says(&ana.add_member(gid, "nobody").await, "Username tidak ada.");
    says(
        &ana.add_member(gid, "budi").await,
        "budi berhasil ditambahkan.",
    );
    assert_eq!(
        ana.recv().await["message"],
        "budi telah masuk ke dalam grup."
    );
    assert_eq!(
        budi.recv().await["message"],
        "budi telah masuk ke dalam grup."
    );
    says(
        &ana.add_member(gid, "budi").await,
        "budi sudah merupakan anggota grup.",
    );
    says(&ana.send_group(gid + 100, "x").await, "Group tidak ada.");
    says(
        &ana.send_group(gid, "halo semua").await,
        "Message berhasil dikirim",
    );
    assert_eq!(ana.recv().await["message"], "halo semua");
    assert_eq!(budi.recv().await["message"], "halo semua");
    says(&budi.quit_group(gid).await, "budi berhasil keluar grup");
    assert_eq!(ana.recv().await["message"], "budi telah keluar dari grup.");
    says(
        &budi.quit_group(gid).await,
        "budi bukan member grup. Ngapain keluar?",
    );
    says(&budi.quit_group(gid + 100).await, "Group tidak ditemukan.");
    says(
        &budi.send_group(gid, "x").await,
        "Kamu bukan anggota grup ini.",
    );

    // A bad token, as each method words it.
    let forged = |method: &str| {
        let mut request = json!({"method": method, "username": "ana", "username_from": "ana",
            "username_adder": "ana", "username_to": "budi", "username_to_add": "budi",
            "group_id": gid, "group_id_to": gid, "group_name": "g", "message": "m",
            "token": "forged"});
        if method == "send_client" {
            request.as_object_mut().unwrap().remove("username");
        }
        request
    };
    for (method, text) in [
        ("add_friend", "Token invalid."),
        ("get_friend", "Token invalid."),
        ("create_group", "Token invalid."),
        ("get_group", "Token invalid."),
        ("add_member_to_group", "Invalid token."),
        ("quit_from_group", "Invalid token."),
        ("send_client", "Token invalid."),
        ("send_group", "Token invalid."),
    ] {
        says(&ana.call(forged(method)).await, text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_may_ask_for_english() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let request = json!({"method": "add_friend", "username_from": "ana", "username_to": "ana",
                         "token": ana.token(), "lang": "en"});
    let reply = ana.call(request).await;
    assert_eq!(reply["code"], "cannot_befriend_self");
    says(&reply, "you cannot add yourself as a friend");
}
