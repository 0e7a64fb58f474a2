fn main() {
    println!("runmesh-relay {}", runmesh_relay::version());
}
