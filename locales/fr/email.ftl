# E-mails. La première ligne de chaque e-mail texte en est l'objet.

email-greeting = Bonjour,
email-greeting-name = Bonjour { $name },
email-footer = Vous recevez ce message parce que quelqu'un a utilisé cette adresse sur Portcullis. Si ce n'était pas vous, ignorez ce message.
email-button-fallback = Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur :

email-verify-intro-html = Veuillez confirmer votre adresse e-mail pour Portcullis.
email-verify-intro-text = Veuillez confirmer votre adresse e-mail pour Portcullis en ouvrant ce lien :
email-verify-button = Confirmer l'adresse e-mail
email-verify-validity-hours = Le lien est valable { $hours ->
        [one] { $hours } heure
       *[other] { $hours } heures
    }.
email-verify-validity-minutes = Le lien est valable { $minutes } minutes.

email-reset-intro-html = Quelqu'un a demandé la réinitialisation du mot de passe de votre compte Portcullis. Utilisez le bouton ci-dessous pour choisir un nouveau mot de passe.
email-reset-intro-text = Quelqu'un a demandé la réinitialisation du mot de passe de votre compte Portcullis. Pour choisir un nouveau mot de passe, ouvrez ce lien :
email-reset-validity = Le lien est valable { $minutes } minutes et ne fonctionne qu'une fois.
email-reset-not-you = Si vous n'avez rien demandé, ignorez ce message ; votre mot de passe reste inchangé.

email-changed-title = Votre mot de passe a été modifié
email-changed-intro = Votre mot de passe vient d'être modifié et toutes vos sessions ont été déconnectées.
email-changed-not-you = Si ce n'était pas vous, réinitialisez votre mot de passe dès maintenant :

email-magic-title = Votre lien de connexion
email-magic-intro-html = Utilisez le bouton ci-dessous pour vous connecter à Portcullis.
email-magic-intro-text = Ouvrez ce lien pour vous connecter à Portcullis :
email-magic-button = Se connecter à Portcullis
email-magic-validity = Le lien est valable { $minutes } minutes et ne fonctionne qu'une fois. Si vous n'avez pas demandé à vous connecter, ignorez ce message ; personne ne peut se connecter sans ce lien.

email-code-title = Votre code de connexion
email-code-subject = Votre code de connexion : { $code }
email-code-intro = Votre code de connexion Portcullis est :
email-code-instructions = Saisissez-le sur la page de connexion. Le code est valable { $minutes } minutes et ne fonctionne qu'une fois. Ne le communiquez jamais : Portcullis ne vous le demandera jamais.

# Alertes de sécurité (envoyées seulement si le paramètre « alertes de sécurité » est activé)
notice-when = Quand :
notice-device = Appareil :
notice-ip = Adresse IP :
notice-method = Connexion avec :
notice-unknown-ip = inconnue
notice-if-you = Si c'était vous, vous n'avez rien à faire.
notice-footer = Vous recevez les alertes de sécurité parce qu'elles sont activées dans les paramètres de votre compte :
notice-review-sessions = Vérifier vos sessions
notice-new-device-title = Nouvelle connexion à votre compte
notice-new-device-intro = Quelqu'un vient de se connecter à votre compte Portcullis depuis un appareil ou un navigateur qui n'avait encore jamais été utilisé.
notice-new-device-not-you = Si ce n'était pas vous, changez votre mot de passe maintenant et révoquez les sessions que vous ne reconnaissez pas :
notice-password-title = Votre mot de passe a été modifié
notice-password-intro = Le mot de passe de votre compte Portcullis a été modifié depuis votre page de compte le { $when }. Vos autres sessions ont été déconnectées.
notice-password-not-you = Si ce n'était pas vous, réinitialisez votre mot de passe maintenant :
notice-email-title = Votre adresse e-mail a été modifiée
notice-email-intro = L'adresse e-mail de votre compte Portcullis a été modifiée le { $when } de { $old } à { $new }. Les e-mails concernant le compte sont désormais envoyés à la nouvelle adresse.
notice-email-not-you = Si ce n'était pas vous, quelqu'un d'autre contrôle peut-être votre compte : contactez immédiatement les responsables de ce service et indiquez-leur de quel compte il s'agit ({ $old }).

# Password soft-locked after too many wrong passwords (sent whatever the notice setting)
notice-locked-title = La connexion par mot de passe est suspendue
notice-locked-intro = Un mot de passe erroné a été saisi trop de fois pour votre compte Portcullis : la connexion par mot de passe est suspendue jusqu'au { $until }.
notice-locked-still-in = Vous pouvez toujours vous connecter sans mot de passe, par les autres moyens que propose la page de connexion :
notice-locked-not-you = Si ces tentatives ne viennent pas de vous, quelqu'un essaie peut-être de deviner votre mot de passe : choisissez-en un nouveau, robuste.
notice-locked-reset-ends = Choisir un nouveau mot de passe met aussi fin à la pause immédiatement :

# Sign-up with an address that already has an account
email-registered-title = Vous avez déjà un compte
email-registered-intro = Quelqu'un (probablement vous) a essayé de créer un compte Portcullis avec cette adresse, mais vous avez déjà un compte.
email-registered-sign-in = Se connecter :
email-registered-reset = Mot de passe oublié ? Réinitialisez-le :
email-registered-not-you = Si ce n'était pas vous, ignorez ce message ; rien n'a changé.
notice-mfa-on-title = Connexion à deux facteurs activée
notice-mfa-on-intro = La connexion à deux facteurs par application d’authentification a été activée pour votre compte Portcullis le { $when }.
notice-mfa-off-title = Connexion à deux facteurs désactivée
notice-mfa-off-intro = La connexion à deux facteurs a été désactivée pour votre compte Portcullis le { $when }. La connexion ne demande plus que votre mot de passe (ou un lien de connexion).
notice-recovery-title = Un code de récupération a été utilisé
notice-recovery-intro = L’un de vos codes de récupération a servi à se connecter à votre compte Portcullis le { $when }. Il ne peut plus être utilisé.
notice-passkey-added-title = Une clé d’accès a été ajoutée
notice-passkey-added-intro = Une clé d’accès nommée « { $passkey } » a été ajoutée à votre compte Portcullis le { $when }. Elle permet de se connecter sans mot de passe.
notice-passkey-removed-title = Une clé d’accès a été supprimée
notice-passkey-removed-intro = La clé d’accès nommée « { $passkey } » a été supprimée de votre compte Portcullis le { $when }.
notice-mfa-not-you = Si ce n’était pas vous, changez votre mot de passe maintenant et vérifiez vos réglages de connexion à deux facteurs :
link-proof-mail-subject = Confirmez la liaison de { $provider } à votre compte
link-proof-mail-intro = Quelqu’un — vous, espérons-le — s’est connecté avec { $provider } en utilisant votre adresse et a demandé à le lier à votre compte Portcullis. Ouvrez ce lien dans le même navigateur pour confirmer que c’est bien vous :
link-proof-mail-button = Confirmer et lier { $provider }
link-proof-mail-ignore = Si ce n’était pas vous, ignorez cet e-mail : rien n’est lié sans lui.
method-linked-subject = { $provider } a été lié à votre compte
method-linked-intro = { $provider } a été lié à votre compte Portcullis le { $when } : il permet désormais de vous connecter.
method-linked-not-you = Si ce n’était pas vous, retirez-le et fermez les sessions qu’il a ouvertes en un clic :
method-linked-not-me-button = Ce n’était pas moi
method-linked-manage = Vos moyens de connexion :

# An admin's test message (admin console, Mail)
test-mail-subject = Message de test de Portcullis
test-mail-body = Ce message de test vient du serveur d’identité { $issuer }. S’il vous est parvenu, l’envoi de mails fonctionne.
