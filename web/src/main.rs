fn main() {
    println!("{} {}", runmesh_web::APP_NAME, runmesh_web::core_version());
}
