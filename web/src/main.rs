fn main() {
    runmesh_web::start();
}
