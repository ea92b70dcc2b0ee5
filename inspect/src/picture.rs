pub fn draw(_tree: &crate::Tree) -> String {
    String::new()
}
