# L'espace compte (/account/*).

account-nav-profile = Profil
account-nav-settings = Paramètres
account-nav-password = Mot de passe
account-nav-sessions = Sessions
account-nav-apps = Applications connectées
account-nav-methods = Méthodes de connexion
account-nav-delete = Supprimer le compte

## Profil
profile-verified = confirmée
profile-not-verified = non confirmée
profile-resend-verification = Renvoyer l'e-mail de confirmation
profile-picture = URL de la photo
profile-picture-hint = Un lien vers une image carrée, affichée à côté de votre nom.
profile-bio = Biographie
profile-bio-hint = { $max } caractères au maximum.
profile-website = Site web
profile-username = Nom d’utilisateur
profile-username-hint = Facultatif. 3 à 32 caractères : lettres a–z, chiffres, points, tirets ou tirets bas. Les applications auxquelles vous vous connectez peuvent l’afficher ; il ne sert jamais à se connecter.
profile-timezone = Fuseau horaire
profile-timezone-hint = Les heures de vos pages de compte et des e-mails de sécurité sont affichées dans ce fuseau.
profile-save = Enregistrer le profil
profile-change-email-heading = Changer d'adresse e-mail
profile-new-email = Nouvelle adresse e-mail
profile-new-email-hint = Votre adresse change dès que vous suivez le lien que nous envoyons à la nouvelle.
profile-send-verification-link = Envoyer un lien de confirmation

## Paramètres
settings-theme = Thème
settings-theme-light = Clair
settings-theme-dark = Sombre
settings-theme-system = Comme mon appareil
settings-language = Langue
settings-notifications = M'avertir par e-mail des événements de sécurité (nouvelles connexions, changements de mot de passe)
settings-save = Enregistrer les paramètres

## Mot de passe
password-change-heading = Changer de mot de passe
password-change-lead = Changer votre mot de passe vous déconnecte partout ailleurs.
password-set-heading = Définir un mot de passe
password-set-lead = Ce compte n'a pas encore de mot de passe. Définissez-en un pour pouvoir vous connecter avec votre adresse e-mail et un mot de passe.

## Sessions
sessions-lead = Voici les appareils actuellement connectés à votre compte. Si vous n'en reconnaissez pas un, révoquez-le et changez votre mot de passe.
sessions-unknown-browser = Navigateur inconnu
sessions-this-device = Cet appareil
sessions-ip = Adresse IP
sessions-method = Connecté avec
sessions-created = Connecté le
sessions-last-active = Dernière activité
sessions-unknown = inconnu
sessions-revoke = Révoquer
sessions-none = Aucune session active.
sessions-revoke-others = Déconnecter toutes les autres sessions
sessions-method-password = Mot de passe
sessions-method-email-link = Lien de connexion par e-mail
sessions-method-email-code = Code par e-mail
sessions-method-email = Lien ou code de connexion par e-mail
profile-timezone-unset = UTC (non défini)
sessions-method-other = Autre
sessions-second-factor = Second facteur
sessions-second-factor-otp = Application d'authentification ou code de récupération

## Applications connectées
apps-lead = Les applications que vous avez autorisées à vous connecter. Révoquer l'accès les déconnecte et invalide leurs jetons.
apps-access = Accès :
apps-since = Depuis le { $date }
apps-revoke = Révoquer l'accès
apps-none = Aucune application n'a accès à votre compte.

## Méthodes de connexion
methods-lead = Chacune de ces méthodes prouve que c'est bien vous. Gardez-en au moins une.
methods-password = Mot de passe
methods-added = Ajoutée le { $date }
methods-unlink = Dissocier
methods-none = Aucune méthode de connexion n'est configurée pour ce compte.
methods-set-password-before = {""}
methods-set-password-link = Définissez un mot de passe
methods-set-password-after = {" "}pour pouvoir aussi vous connecter avec votre adresse e-mail.
methods-link-heading = Associer une autre méthode de connexion
methods-link = Associer { $provider }

## Suppression
delete-lead = La suppression de votre compte est définitive et irréversible.
delete-consequence-data = Tout ce qui est enregistré à votre sujet est effacé : profil, paramètres, sessions et méthodes de connexion.
delete-consequence-sessions = Vous êtes déconnecté de tous vos appareils.
delete-consequence-apps = Les applications auxquelles vous vous êtes connecté avec ce compte perdent l'accès à celui-ci.
delete-confirm-label = Saisissez DELETE pour confirmer
delete-confirm-hint = Saisissez le mot DELETE en majuscules.
delete-submit = Supprimer mon compte

## Description d'un appareil connecté (liste des sessions)
device-unknown = Appareil inconnu
device-browser-on-os = { $browser } sous { $os }
device-some-browser-on-os = Navigateur sous { $os }
device-plain = { $text }

## Connexion à deux facteurs (/account/security)
account-nav-security = Connexion à deux facteurs
security-totp-heading = Application d’authentification
security-off-lead = Protégez votre compte par une seconde étape à la connexion : un code à 6 chiffres d’une application d’authentification sur votre téléphone (comme Aegis, Google Authenticator ou 1Password).
security-enrol-start = Configurer une application d’authentification
security-enrol-lead = Ajoutez ce compte à votre application d’authentification, puis saisissez le code qu’elle affiche.
security-enrol-secret = Ou saisissez cette clé dans l’application (basée sur le temps, 6 chiffres, 30 secondes) :
security-enrol-qr = Code QR à scanner avec votre application d’authentification
security-enrol-link = Ouvrir dans une application d’authentification sur cet appareil
security-enrol-code = Code de l’application
security-enrol-confirm = Activer
security-cancel = Annuler
security-codes-heading = Codes de récupération
security-codes-lead = Conservez ces codes de récupération en lieu sûr. Chacun vous connecte une fois si vous perdez votre téléphone. Ils ne sont affichés que maintenant.
security-codes-saved = Je les ai enregistrés
security-enabled-lead = La connexion à deux facteurs est activée : après votre mot de passe (ou un lien de connexion ou un autre fournisseur), nous demandons un code de votre application d’authentification.
security-codes-left = Codes de récupération inutilisés : { $count }
security-codes-regenerate = Créer de nouveaux codes de récupération
security-disable-heading = Désactiver
security-disable-lead = Si vous ne vous êtes pas connecté ces dernières minutes, saisissez votre mot de passe pour désactiver la connexion à deux facteurs.
security-disable-submit = Désactiver la connexion à deux facteurs
security-reauthenticate = Pour cela, saisissez votre mot de passe, ou déconnectez-vous puis reconnectez-vous d’abord.
security-notice-enabled = La connexion à deux facteurs est activée.
security-codes-saved-continue = Je les ai enregistrés, continuer
security-required-lead = L'application à laquelle vous vous connectez exige la connexion à deux facteurs. Activez-la ici pour continuer.
security-notice-codes = Nouveaux codes de récupération créés ; les anciens ne fonctionnent plus.
security-notice-disabled = La connexion à deux facteurs est désactivée.

# Passkeys
sessions-method-passkey = Clé d'accès
passkeys-title = Clés d'accès
passkeys-lead = Une clé d'accès vous connecte avec le verrouillage d'écran de votre appareil (empreinte, visage ou code PIN) au lieu d'un mot de passe. Elle sert aussi de deuxième étape après votre mot de passe.
passkeys-none = Vous n'avez pas encore de clé d'accès.
passkeys-created = Ajoutée
passkeys-last-used = Dernière utilisation
passkeys-never-used = Jamais
passkeys-name = Nom
passkeys-name-hint = p. ex. Mon portable
passkeys-rename = Renommer
passkeys-remove = Supprimer
passkeys-remove-password = Votre mot de passe (sauf si vous vous êtes connecté il y a quelques minutes)
passkeys-add-heading = Ajouter une clé d'accès
passkeys-add = Ajouter une clé d'accès
passkeys-needs-script = L'ajout d'une clé d'accès nécessite JavaScript.
passkeys-notice-added = Clé d'accès ajoutée.
passkeys-notice-renamed = Clé d'accès renommée.
passkeys-notice-removed = Clé d'accès supprimée.
passkeys-reauthenticate = Pour supprimer une clé d'accès, saisissez votre mot de passe, ou déconnectez-vous puis reconnectez-vous d'abord.
security-passkeys-lead = Connectez-vous avec le verrouillage d'écran de votre appareil au lieu d'un mot de passe, ou utilisez une clé d'accès comme deuxième étape après votre mot de passe.
security-passkeys-count = { $count ->
        [0] Vous n'avez pas encore de clé d'accès.
        [one] Vous avez une clé d'accès.
       *[other] Clés d'accès : { $count }
    }
security-passkeys-manage = Gérer les clés d'accès
