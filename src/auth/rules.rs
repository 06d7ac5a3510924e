//! Field rules shared by registration and profile updates.

use crate::validation::FieldErrors;

pub const MAX_NAME: usize = 150;

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn check_email(errors: &mut FieldErrors, field: &str, email: &str) {
    if !is_valid_email(email.trim()) {
        errors.add(field, "Enter a valid email address.");
    }
}

fn is_valid_email(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// Django's username rule: letters, digits and @ . + - _, at most 150.
pub fn check_username(errors: &mut FieldErrors, username: &str) {
    errors.max_len("username", username, MAX_NAME);
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
    {
        errors.add(
            "username",
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
        );
    }
}

pub fn check_phone(errors: &mut FieldErrors, phone: &str) {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " ()-".contains(c) || (i == 0 && c == '+'));
    if !phone.is_empty() && (!allowed || !(6..=15).contains(&digits) || phone.len() > 32) {
        errors.add("phone_number", "Enter a valid phone number.");
    }
}

pub fn check_role(errors: &mut FieldErrors, role: &str) {
    if !super::ROLES.contains(&role) {
        errors.add("role", format!("\"{role}\" is not a valid choice."));
    }
}
